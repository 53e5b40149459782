package processor

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// The length-and-first-letter filter in front of the key lookup answers
// exactly what the lookup alone would, for names in any case, with
// dots, non-ASCII letters (the Kelvin sign lower-cases to an ASCII k,
// changing the length), and keys of 63 bytes or more.
func TestSensitiveFilterMatchesLookup(t *testing.T) {
	long := strings.Repeat("k", 70)
	lists := [][]string{nil, {"contraseña", long, "token", ""}}
	names := []string{"password", "PASSWORD", "user.Password", "http.route", "a.b.api_key", "API_KEY", "token",
		"TO\u212AEN", "to\u212Aen", "contraseña", "CONTRASEÑA", "x." + long, strings.ToUpper(long), long + "k",
		"", ".", "x.", "tokens", "Token.", "bytes", "é", "\u212A"}
	for _, list := range lists {
		var r *Redact
		if list == nil {
			r = NewRedact()
		} else {
			r = NewRedact(WithKeys(list...))
		}
		lookup := func(key string) bool {
			k := key
			if i := strings.LastIndexByte(k, '.'); i >= 0 {
				k = k[i+1:]
			}
			if r.keys[k] {
				return true
			}
			if strings.ContainsFunc(k, func(c rune) bool { return 'A' <= c && c <= 'Z' }) {
				return r.keys[strings.ToLower(k)]
			}
			return false
		}
		for _, name := range names {
			if got, want := r.sensitive(attribute.Key(name)), lookup(name); got != want {
				t.Errorf("keys %q: sensitive(%q) = %v, want %v", list, name, got, want)
			}
		}
	}
}

// hasSchemeSep finds "://" wherever it is, after any number of colons.
func TestHasSchemeSep(t *testing.T) {
	for s, want := range map[string]bool{
		"https://u:p@h": true, "a:b://c": true, "::://": true, "://": true,
		"": false, "a:b:c": false, "a:/b": false, "a:": false, "//a:": false, "a:/ /": false,
	} {
		if got := hasSchemeSep(s); got != want {
			t.Errorf("hasSchemeSep(%q) = %v, want %v", s, got, want)
		}
	}
}
