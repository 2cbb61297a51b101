package redact

import (
	"regexp"
	"unicode"
)

// maxFileName is the longest value taken for a file name: longer is not a
// path anybody writes (the contents of a file, more likely).
const maxFileName = 512

// secretShaped matches what a credentials file or a key holds: PEM and
// NATS "-----BEGIN" / "-----END" decorations, NATS nkey seeds (S, the key
// type, then base32), JWTs (base64url of a JSON header, '.', more
// base64url), "PRIVATE KEY" and "NKEY SEED".
var secretShaped = regexp.MustCompile(`-----BEGIN|-----END|\bS[UOACNPX][A-Z2-7]{50,}|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]|PRIVATE KEY|NKEY SEED`)

// IsFileName reports whether s is shaped like a file name a setting would
// hold: no line break or other control character, no PEM or NATS
// "-----BEGIN" decoration, nkey seed, JWT, "PRIVATE KEY" or "NKEY SEED",
// and at most 512 bytes. A value that is not is most likely the contents
// of a file (a NATS credentials file, a private key) set where its name
// goes: a secret, which the value of a key naming a file (credentials-file,
// key-file, which are otherwise shown) and an error about a file never
// show.
func IsFileName(s string) bool {
	if len(s) > maxFileName || secretShaped.MatchString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
