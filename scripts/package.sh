#!/usr/bin/env bash
# Builds what an integrator installs on a cockpit box: a self-contained publish for one architecture, laid out as
# the target filesystem, packed as a .deb and as a tarball of the same tree (docs/install.md).
#
#   scripts/package.sh [linux-x64|linux-arm64]      (default: linux-x64)
#
# Output: artifacts/cabin-agent_<version>_<amd64|arm64>.deb and artifacts/cabin-agent-<version>-<rid>.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."

rid=${1:-linux-x64}
case "$rid" in
  linux-x64) arch=amd64 ;;
  linux-arm64) arch=arm64 ;;
  *) echo "package.sh: unknown runtime '$rid' (use linux-x64 or linux-arm64)" >&2; exit 2 ;;
esac
for tool in dotnet dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "package.sh: '$tool' not found (apt-get install dpkg / the .NET SDK)" >&2; exit 2; }
done

version=$(dotnet msbuild src/CabinAgent.Host -getProperty:Version -p:Configuration=Release)
publish=artifacts/publish/$rid
echo "package.sh: publishing $rid (self-contained) to $publish" >&2
rm -rf "$publish"
dotnet publish src/CabinAgent.Host -p:PublishProfile="$rid" -nologo -clp:ErrorsOnly >&2

# Whisper.net's runtime package copies every platform's natives; a box of one architecture needs only its own.
find "$publish/runtimes" -mindepth 1 -maxdepth 1 -type d ! -name "$rid" -exec rm -rf {} +

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -d "$root/opt/cabin-agent" "$root/etc/cabin-agent/bus" "$root/usr/lib/systemd/system" \
  "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/cabin-agent" "$root/DEBIAN"
cp -a "$publish/." "$root/opt/cabin-agent/"
# Shipped defaults stay read-only in /opt/cabin-agent/config; /etc/cabin-agent/cabin-agent.json overlays them.
install -m 0640 config/cabin-agent.production.json "$root/etc/cabin-agent/cabin-agent.json"
install -m 0644 systemd/cabin-agent.service "$root/usr/lib/systemd/system/cabin-agent.service"
install -m 0644 systemd/cabin-agent.sysusers "$root/usr/lib/sysusers.d/cabin-agent.conf"
install -m 0644 systemd/cabin-agent.tmpfiles "$root/usr/lib/tmpfiles.d/cabin-agent.conf"
cp -r docs/. "$root/usr/share/doc/cabin-agent/"
cp -r samples "$root/opt/cabin-agent/samples"
install -m 0644 README.md "$root/usr/share/doc/cabin-agent/README.md"
chmod 0755 "$root"
find "$root" -type d -exec chmod 0755 {} +
find "$root/opt" "$root/usr" -type f -exec chmod 0644 {} +
chmod 0755 "$root/opt/cabin-agent/cabin-agent" "$root/opt/cabin-agent/createdump"
chmod 0750 "$root/etc/cabin-agent" "$root/etc/cabin-agent/bus"
# The daemon's own path must be what the unit starts.
test -x "$root/opt/cabin-agent/cabin-agent"
grep -q '^ExecStart=/opt/cabin-agent/cabin-agent ' "$root/usr/lib/systemd/system/cabin-agent.service"

cat > "$root/DEBIAN/control" <<EOF
Package: cabin-agent
Version: $version
Architecture: $arch
Maintainer: CabinAgent <dev@cabin-agent.local>
Section: misc
Priority: optional
Depends: systemd
Recommends: alsa-utils, mosquitto
Installed-Size: $(du -sk "$root" | cut -f1)
Description: In-vehicle voice-command agent (speech, understanding, safety layer, MQTT to the ECUs)
 Self-contained .NET daemon: Whisper.net speech, deterministic and llama.cpp understanding tiers, a deterministic
 safety layer, MQTT v5 to the vehicle's ECUs. See /usr/share/doc/cabin-agent/install.md.
EOF
echo "/etc/cabin-agent/cabin-agent.json" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  systemd-sysusers cabin-agent.conf
  systemd-tmpfiles --create cabin-agent.conf
  chown root:cabin-agent /etc/cabin-agent/cabin-agent.json
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  echo "cabin-agent: put the models and bus certificates in place (docs/install.md), then: systemctl enable --now cabin-agent"
fi
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then systemctl stop cabin-agent.service || true; fi
EOF
cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
# The outbox and journal in /var/lib/cabin-agent are the vehicle's undelivered commands: kept unless purged.
if [ "$1" = purge ]; then rm -rf /var/lib/cabin-agent /var/cache/cabin-agent; fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p artifacts
deb=artifacts/cabin-agent_${version}_${arch}.deb
tarball=artifacts/cabin-agent-${version}-${rid}.tar.gz
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
tar -C "$root" --exclude=./DEBIAN --owner=0 --group=0 -czf "$tarball" .
echo "$deb"
echo "$tarball"
