#!/bin/sh
# kaizen-proxy transparent mode: redirect every outbound TCP connection of this network namespace
# (a pod, or containers sharing one with --network container:<proxy>) to the proxy's transparent
# port, except the proxy's own (its UID) and loopback; drop outbound UDP 443 so QUIC falls back
# to TCP, where the proxy sees it. UDP cannot be redirected to the proxy: with KAIZEN_UDP=drop,
# every other UDP datagram is dropped too, but DNS (port 53) and the ports KAIZEN_UDP_ALLOW_PORTS
# lists, which then pass unseen. Run once, as root with NET_ADMIN and NET_RAW, before the agent.
#
#   kaizen-redirect.sh apply    install the rules (idempotent: flushes and refills its own chains)
#   kaizen-redirect.sh print    print the commands apply would run, change nothing
#   kaizen-redirect.sh remove   delete the rules and chains
#
# Environment (defaults in brackets):
#   KAIZEN_PROXY_UID [1337]            UID the proxy runs as; its connections are never redirected
#   KAIZEN_TRANSPARENT_PORT [15001]    the proxy's --transparent port (127.0.0.1 and [::1])
#   KAIZEN_EXCLUDE_PORTS []            comma-separated TCP destination ports left alone (e.g. 53,
#                                      for DNS over TCP, which the proxy would refuse)
#   KAIZEN_EXCLUDE_CIDRS []            comma-separated destination ranges left alone by the TCP
#                                      redirect (IPv4 or IPv6)
#   KAIZEN_UDP [quic]                  quic: drop UDP 443 only, other UDP passes unseen; drop: drop
#                                      all UDP but to port 53, the listed ports and loopback
#   KAIZEN_UDP_ALLOW_PORTS []          with KAIZEN_UDP=drop, comma-separated UDP destination ports let
#                                      through besides 53 (443 is dropped in every mode)
#   KAIZEN_IPV6 [auto]                 auto: also ip6tables when IPv6 is present; on; off
#   KAIZEN_IPTABLES [iptables]         the iptables binary (iptables-legacy on legacy hosts)
#   KAIZEN_IP6TABLES [ip6tables]
set -eu

UID_PROXY="${KAIZEN_PROXY_UID:-1337}"
PORT="${KAIZEN_TRANSPARENT_PORT:-15001}"
EXCLUDE_PORTS="${KAIZEN_EXCLUDE_PORTS:-}"
EXCLUDE_CIDRS="${KAIZEN_EXCLUDE_CIDRS:-}"
UDP="${KAIZEN_UDP:-quic}"
UDP_ALLOW_PORTS="${KAIZEN_UDP_ALLOW_PORTS:-}"
IPV6="${KAIZEN_IPV6:-auto}"
IPT4="${KAIZEN_IPTABLES:-iptables}"
IPT6="${KAIZEN_IP6TABLES:-ip6tables}"
MODE="${1:-apply}"
NAT_CHAIN=KAIZEN_OUTPUT
# The UDP filter chain (named for its first job, kept so that remove finds older installs).
QUIC_CHAIN=KAIZEN_QUIC

case "$UID_PROXY" in ''|*[!0-9]*) echo "kaizen-redirect: KAIZEN_PROXY_UID must be a number" >&2; exit 2 ;; esac
case "$PORT" in ''|*[!0-9]*) echo "kaizen-redirect: KAIZEN_TRANSPARENT_PORT must be a number" >&2; exit 2 ;; esac
case "$UDP" in quic|drop) ;; *) echo "kaizen-redirect: KAIZEN_UDP must be quic or drop" >&2; exit 2 ;; esac
for port in $(echo "$UDP_ALLOW_PORTS" | tr ',' ' '); do
  case "$port" in *[!0-9]*) echo "kaizen-redirect: KAIZEN_UDP_ALLOW_PORTS must list port numbers" >&2; exit 2 ;; esac
done

run() {
  if [ "$MODE" = print ]; then echo "$*"; else "$@"; fi
}

# The rules for one family: $1 the binary, $2 the loopback range.
rules() {
  ipt="$1"
  loopback="$2"
  family="$3"
  # Own chains, created or emptied, so applying twice leaves one copy of every rule.
  run "$ipt" -t nat -N "$NAT_CHAIN" 2>/dev/null || run "$ipt" -t nat -F "$NAT_CHAIN"
  run "$ipt" -t nat -A "$NAT_CHAIN" -m owner --uid-owner "$UID_PROXY" -j RETURN
  run "$ipt" -t nat -A "$NAT_CHAIN" -o lo -j RETURN
  run "$ipt" -t nat -A "$NAT_CHAIN" -d "$loopback" -j RETURN
  for port in $(echo "$EXCLUDE_PORTS" | tr ',' ' '); do
    run "$ipt" -t nat -A "$NAT_CHAIN" -p tcp --dport "$port" -j RETURN
  done
  for cidr in $(echo "$EXCLUDE_CIDRS" | tr ',' ' '); do
    case "$cidr" in *:*) [ "$family" = 6 ] || continue ;; *) [ "$family" = 4 ] || continue ;; esac
    run "$ipt" -t nat -A "$NAT_CHAIN" -d "$cidr" -j RETURN
  done
  run "$ipt" -t nat -A "$NAT_CHAIN" -p tcp -j REDIRECT --to-ports "$PORT"
  if [ "$MODE" = print ] || ! "$ipt" -t nat -C OUTPUT -p tcp -j "$NAT_CHAIN" 2>/dev/null; then
    run "$ipt" -t nat -A OUTPUT -p tcp -j "$NAT_CHAIN"
  fi

  # QUIC: UDP 443 cannot be redirected to a TCP proxy; dropping it makes clients use TCP. First, so
  # that no mode and no listed port lets it through.
  run "$ipt" -t filter -N "$QUIC_CHAIN" 2>/dev/null || run "$ipt" -t filter -F "$QUIC_CHAIN"
  run "$ipt" -t filter -A "$QUIC_CHAIN" -m owner --uid-owner "$UID_PROXY" -j RETURN
  run "$ipt" -t filter -A "$QUIC_CHAIN" -p udp --dport 443 -j DROP
  if [ "$UDP" = drop ]; then
    # Nothing else over UDP gets a verdict: drop it, but loopback (it stays in the pod), DNS and
    # the operator's ports. The agent's sendto fails at once (EPERM), as for 443.
    run "$ipt" -t filter -A "$QUIC_CHAIN" -o lo -j RETURN
    run "$ipt" -t filter -A "$QUIC_CHAIN" -d "$loopback" -j RETURN
    for port in 53 $(echo "$UDP_ALLOW_PORTS" | tr ',' ' '); do
      run "$ipt" -t filter -A "$QUIC_CHAIN" -p udp --dport "$port" -j RETURN
    done
    run "$ipt" -t filter -A "$QUIC_CHAIN" -p udp -j DROP
  fi
  if [ "$MODE" = print ] || ! "$ipt" -t filter -C OUTPUT -p udp -j "$QUIC_CHAIN" 2>/dev/null; then
    run "$ipt" -t filter -A OUTPUT -p udp -j "$QUIC_CHAIN"
  fi
}

unrules() {
  ipt="$1"
  while "$ipt" -t nat -D OUTPUT -p tcp -j "$NAT_CHAIN" 2>/dev/null; do :; done
  while "$ipt" -t filter -D OUTPUT -p udp -j "$QUIC_CHAIN" 2>/dev/null; do :; done
  "$ipt" -t nat -F "$NAT_CHAIN" 2>/dev/null || true
  "$ipt" -t nat -X "$NAT_CHAIN" 2>/dev/null || true
  "$ipt" -t filter -F "$QUIC_CHAIN" 2>/dev/null || true
  "$ipt" -t filter -X "$QUIC_CHAIN" 2>/dev/null || true
}

with_ipv6() {
  case "$IPV6" in
    on) return 0 ;;
    off) return 1 ;;
    *) [ -e /proc/net/if_inet6 ] && command -v "$IPT6" >/dev/null 2>&1 ;;
  esac
}

case "$MODE" in
  apply|print)
    rules "$IPT4" 127.0.0.0/8 4
    if with_ipv6; then rules "$IPT6" ::1/128 6; fi
    if [ "$MODE" = apply ]; then
      if [ "$UDP" = drop ]; then
        udp="UDP dropped but to port 53${UDP_ALLOW_PORTS:+,$UDP_ALLOW_PORTS} (443 always) and loopback"
      else
        udp="UDP 443 dropped, other UDP not filtered"
      fi
      echo "kaizen-redirect: TCP from every UID but $UID_PROXY redirected to port $PORT; $udp"
    fi
    ;;
  remove)
    unrules "$IPT4"
    if with_ipv6; then unrules "$IPT6"; fi
    ;;
  *)
    echo "usage: kaizen-redirect.sh apply|print|remove" >&2
    exit 2
    ;;
esac
