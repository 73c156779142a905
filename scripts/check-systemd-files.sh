#!/usr/bin/env bash
# Checks the shipped systemd files with systemd's own tools: the unit (systemd-analyze verify), the user
# (systemd-sysusers) and the directories (systemd-tmpfiles), the last two applied to an empty root, never to
# this machine. Used by scripts/test.sh.
#   scripts/check-systemd-files.sh PATH-TO-BUILT-cabin-agent
set -euo pipefail
cd "$(dirname "$0")/.."
app=$(realpath "$1")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

unit="$root/cabin-agent.service"
sed "s#^ExecStart=/opt/cabin-agent/cabin-agent #ExecStart=$app #" systemd/cabin-agent.service > "$unit"
grep -q "^ExecStart=$app " "$unit" || { echo "check-systemd-files: the unit does not start /opt/cabin-agent/cabin-agent" >&2; exit 1; }
verify_out=$(systemd-analyze verify "$unit" 2>&1 || true)
if [ -n "$verify_out" ]; then echo "systemd-analyze verify: $verify_out" >&2; exit 1; fi

mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/shadow" "$root/etc/gshadow"
echo "audio:x:29:" > "$root/etc/group"
systemd-sysusers --root="$root" - < systemd/cabin-agent.sysusers 2>/dev/null
grep -q '^cabin-agent:x:[0-9]*:[0-9]*:.*:/var/lib/cabin-agent:' "$root/etc/passwd" \
  || { echo "check-systemd-files: sysusers did not create the cabin-agent user" >&2; exit 1; }
grep -q '^audio:x:29:cabin-agent$' "$root/etc/group" \
  || { echo "check-systemd-files: cabin-agent is not in the audio group" >&2; exit 1; }
systemd-tmpfiles --root="$root" --create - < systemd/cabin-agent.tmpfiles
for dir in var/lib/cabin-agent var/lib/cabin-agent/models var/cache/cabin-agent etc/cabin-agent/bus; do
  test -d "$root/$dir" || { echo "check-systemd-files: tmpfiles did not create /$dir" >&2; exit 1; }
done
[ "$(stat -c %a "$root/var/lib/cabin-agent")" = 700 ] || { echo "check-systemd-files: /var/lib/cabin-agent is not 0700" >&2; exit 1; }
echo "systemd files: unit verified, user and directories created in an empty root" >&2
