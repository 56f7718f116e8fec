#!/usr/bin/env bash
# Makes the test PKI the unikernel programs embed (run once; the outputs are
# committed): a P-256 root CA and a P-256 server certificate it issued for
# unikernel.test, both valid for 100 years from the day they were made (the
# programs' counter clock starts on 2030-01-01, inside that window).
# Test keys only: they are public.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 36500 -subj "/CN=Unikernel Test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out "$tmp/ca.pem"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.key"
openssl req -new -key "$tmp/server.key" -subj "/CN=unikernel.test" -out "$tmp/server.csr"
cat >"$tmp/ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:unikernel.test
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -sha256 -days 36500 -extfile "$tmp/ext" -out "$tmp/server.pem"
openssl x509 -in "$tmp/ca.pem" -outform DER -out ca.der
openssl x509 -in "$tmp/server.pem" -outform DER -out server.der
openssl pkcs8 -topk8 -nocrypt -in "$tmp/server.key" -outform DER -out server.key.der
