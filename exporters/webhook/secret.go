package webhook

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Secret is a signing key. Its String and GoString never show the key, so a
// secret printed by accident in a log or an error stays secret.
type Secret struct {
	key []byte
}

const secretPrefix = "whsec_"

// ParseSecret reads a Standard Webhooks secret, "whsec_" followed by the
// key in base64 (the prefix is optional).
func ParseSecret(s string) (Secret, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
	if err != nil || len(key) == 0 {
		// The input is the secret: do not echo it, nor the decoder's
		// error, which quotes the offending byte.
		return Secret{}, errors.New("webhook: secret is not whsec_ followed by base64")
	}
	return Secret{key: key}, nil
}

// RawSecret uses key as it is: the form fapilog's Python signer uses.
func RawSecret(key []byte) Secret { return Secret{key: append([]byte(nil), key...)} }

func (s Secret) String() string   { return "webhook.Secret(redacted)" }
func (s Secret) GoString() string { return s.String() }
