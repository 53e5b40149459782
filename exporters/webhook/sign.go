package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// Scheme is how requests are signed.
type Scheme uint8

const (
	// SchemeStandardWebhooks signs per standardwebhooks.com: webhook-id,
	// webhook-timestamp and webhook-signature "v1,<base64 HMAC-SHA256 of
	// id.timestamp.body>", one signature per secret. The default.
	SchemeStandardWebhooks Scheme = iota
	// SchemeFapilog signs as Python fapilog does: X-Fapilog-Timestamp and
	// X-Fapilog-Signature-256 "sha256=<hex HMAC-SHA256 of timestamp.body>",
	// with the first secret.
	SchemeFapilog
)

// Header names.
const (
	HeaderID            = "webhook-id"
	HeaderTimestamp     = "webhook-timestamp"
	HeaderSignature     = "webhook-signature"
	HeaderFapilogTime   = "X-Fapilog-Timestamp"
	HeaderFapilogSig256 = "X-Fapilog-Signature-256"
)

func mac(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// standardSignature returns the webhook-signature value: "v1,<sig>" for each
// secret, space separated, so a receiver holding any one of them (during a
// key rotation) can verify.
func standardSignature(secrets []Secret, id string, ts int64, body []byte) string {
	tsText := strconv.FormatInt(ts, 10)
	var b strings.Builder
	for i, s := range secrets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(mac(s.key, []byte(id), []byte{'.'}, []byte(tsText), []byte{'.'}, body)))
	}
	return b.String()
}

func fapilogSignature(secret Secret, ts int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret.key, []byte(strconv.FormatInt(ts, 10)), []byte{'.'}, body))
}
