#!/bin/sh
# Make the self-signed certificate the HTTPS test serves with (tests/serve_tls.rs).
# TEST ONLY: the private key is committed, so it protects nothing.
# Usage: tests/data/tls/make-cert.sh   (needs openssl; rewrites the three .pem files)
set -eu
cd "$(dirname "$0")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout key.pem -out cert.pem -days 36500 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth"
# A second key that does not belong to the certificate (the mismatch test).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out other-key.pem
echo "wrote $(pwd)/cert.pem, key.pem and other-key.pem"
