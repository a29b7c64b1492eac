#!/bin/sh
# The runtime image's directories, made before `USER` so the gateway (uid 10001) owns its
# journal: a named volume mounted there copies this owner and mode. ROOT (first argument,
# default /) lets scripts/check-deploy.sh make the same tree elsewhere and run the binary
# as uid 10001 against it.
set -eu
root=${1:-}
install -d -m 0755 "$root/etc/upload-gateway"
install -d -o 10001 -g 10001 -m 0750 "$root/var/lib/upload-gateway"
install -d -o 10001 -g 10001 -m 0700 "$root/var/lib/upload-gateway/journal"
