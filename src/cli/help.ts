export const HELP = `kaizen-proxy: the egress sidecar for Kaizen (runtime security for AI agents)

Usage:
  kaizen-proxy [serve] [options]              run the proxy (the default command)
  kaizen-proxy [options] -- COMMAND [ARGS...] run COMMAND behind a proxy of its own (wrap mode)
  kaizen-proxy check-config FILE              validate FILE, print the effective configuration (key redacted)
  kaizen-proxy check TARGET [--method M]      print the verdict for host:port or a URL as JSON
                                              (exit 0 allow, 1 block, 2 error)
  kaizen-proxy ca init [--dir DIR] [--name NAME] [--days N] [--force]
                                              create the TLS interception CA (ECDSA P-256, key 0600;
                                              DIR defaults to intercept.ca_dir, certs)
  kaizen-proxy ca show [--dir DIR]            print the CA's path and SHA-256 fingerprint
  kaizen-proxy manifest [--agent NAME] [--collapse registrable] [--push | --policy]
                                              Kaizen's manifest of what the agent did (data_dir/observed/);
                                              --push sends it to the control plane, --policy prints an
                                              allowlist policy (exit 0 ok, 1 configuration, 4 nothing
                                              observed, 5 push refused or failed)

Options:
  --listen HOST:PORT        address to listen on (default 127.0.0.1:8080; wrap mode 127.0.0.1:0)
  -c, --config FILE         YAML configuration (default: config/kaizen-proxy.yaml when present)
  --agent NAME              agent name reported with every action (default egress-agent;
                            wrap mode: KAIZEN_AGENT, else the command's basename)
  --fail closed|open        without a verdict: refuse (closed, default) or allow (open)
  --mode enforce|monitor    monitor forwards what would be blocked and logs would_block (default enforce)
  --allow-private CIDR      open a private range to the address guard (repeatable)
  --log-level LEVEL         trace|debug|info|warn|error|fatal|silent
  --admin HOST:PORT|off     admin listener: /healthz, /readyz, /metrics (default 127.0.0.1:9901;
                            wrap mode off)
  --transparent HOST:PORT   also accept connections redirected by iptables (default off)
  --unsafe-open-proxy       allow listening beyond loopback without gateway credentials
  -h, --help                this help
  -v, --version             the version

Wrap mode:
  --summary                 print the per-destination summary on exit (default: when stderr is a terminal)
  --summary-json FILE       write the summary as JSON to FILE
  --log-file FILE           append the proxy's JSON log to FILE (default: none; warnings and blocks
                            go to stderr, one short line each)
  --learn                   monitor mode; at exit write Kaizen's manifest of what the command did
  --manifest-out FILE       where --learn writes it (default kaizen-manifest.json)
  --collapse registrable    (--learn, manifest) destinations as registrable domains
  --pass-api-key            leave KAIZEN_API_KEY in the command's environment (an agent using the
                            Kaizen SDK itself); by default the command does not get the key
  The command runs without a shell, with HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY (both cases),
  NODE_USE_ENV_PROXY=1, a Node preload in NODE_OPTIONS, JAVA_TOOL_OPTIONS, GRPC_PROXY, npm's
  npm_config_proxy/npm_config_https_proxy/npm_config_noproxy and git's
  GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n set; GIT_CONFIG_PARAMETERS and PIP_PROXY
  are set where the command had one (PIP_PROXY also where a pip.conf names a proxy).
  Programs that ignore proxy settings (raw sockets) are not covered. The wrapper exits with the
  command's code, 128+N when a signal N killed it, 127 when it (or its #! interpreter) was not found.

Environment:
  KAIZEN_API_KEY            control-plane key; without it the proxy runs on local policy
  KAIZEN_API_URL            control-plane base URL (default https://api.getkaizen.io)
  KAIZEN_AGENT, KAIZEN_PROXY_LISTEN, PORT, KAIZEN_PROXY_FAIL, LOG_LEVEL, KAIZEN_PROXY_CONFIG
  KAIZEN_PROXY_MODE         enforce or monitor
  KAIZEN_PROXY_DATA_DIR     data_dir: report spool, observed record (default .kaizen-proxy/)

Reload: SIGHUP, or a change of the config file, re-reads it; an invalid file keeps the running one.

Precedence: flags > environment > file > defaults. Exit codes: 0 ok, 1 configuration, 2 usage, 3 start.
`;
