export const HELP = `kaizen-proxy: the egress sidecar for Kaizen (runtime security for AI agents)

Usage:
  kaizen-proxy [serve] [options]      run the proxy (the default command)

Options:
  --listen HOST:PORT        address to listen on (default 127.0.0.1:8080; port 0 picks one)
  -c, --config FILE         YAML configuration (default: config/kaizen-proxy.yaml when present)
  --agent NAME              agent name reported with every action (default egress-agent)
  --fail closed|open        without a verdict: refuse (closed, default) or allow (open)
  --allow-private CIDR      open a private range to the address guard (repeatable)
  --log-level LEVEL         trace|debug|info|warn|error|fatal|silent
  --admin HOST:PORT|off     admin listener: /healthz, /readyz, /metrics (default 127.0.0.1:9901;
                            wrap mode off)
  --transparent HOST:PORT   also accept connections redirected by iptables (default off)
  --unsafe-open-proxy       allow listening beyond loopback without gateway credentials
  -h, --help                this help
  -v, --version             the version

Environment:
  KAIZEN_API_KEY            control-plane key; without it the proxy runs on local policy
  KAIZEN_API_URL            control-plane base URL (default https://api.getkaizen.io)
  KAIZEN_AGENT, KAIZEN_PROXY_LISTEN, PORT, KAIZEN_PROXY_FAIL, LOG_LEVEL, KAIZEN_PROXY_CONFIG

Precedence: flags > environment > file > defaults. Exit codes: 0 ok, 1 configuration, 2 usage, 3 start.
`;
