#!/usr/bin/env bash
# A development PKI for the vehicle bus (docs/security.md): a CA, the broker's certificate, and one client
# certificate per role of config/mosquitto/acl (CN = the ACL's user). The integration tests make theirs with it.
#
#   scripts/make-bus-pki.sh OUTDIR
#
# Environment: BROKER_NAMES (subjectAltName of the broker, default DNS:localhost,IP:127.0.0.1), DAYS (default 30),
# ACL (the ACL whose users get certificates, default config/mosquitto/acl). Keys are EC P-256, readable by the
# owner only. For a vehicle in production the CA key never sits on the vehicle: see docs/security.md.
set -euo pipefail

out=${1:?usage: make-bus-pki.sh OUTDIR}
here=$(cd "$(dirname "$0")/.." && pwd)
acl=${ACL:-$here/config/mosquitto/acl}
days=${DAYS:-30}
names=${BROKER_NAMES:-DNS:localhost,IP:127.0.0.1}
command -v openssl >/dev/null || { echo "make-bus-pki.sh: openssl is not installed" >&2; exit 1; }
[ -f "$acl" ] || { echo "make-bus-pki.sh: no ACL at $acl" >&2; exit 1; }

mkdir -p "$out"
cd "$out"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# Signs NAME.csr with the CA; $2 is the extension block (key usage, names).
sign() {
  printf '%b' "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

key ca
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=cabin-bus-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

key broker
openssl req -new -key broker.key -subj "/CN=cabin-broker" -out broker.csr
sign broker "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=$names\n"

users=$(awk '$1 == "user" { print $2 }' "$acl")
for user in $users; do
  key "$user"
  openssl req -new -key "$user.key" -subj "/CN=$user" -out "$user.csr"
  sign "$user" "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
done
rm -f ca.srl
# Certificates are public; keys stay private (umask 077 above).
chmod 644 ./*.crt
echo "bus PKI in $out: ca, broker ($names), clients: $(echo $users | tr '\n' ' ')" >&2
