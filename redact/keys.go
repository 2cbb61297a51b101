package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsSecretKey reports whether a configuration key, a dotted key path
// ("stream.binders.k.environment.sasl.jaas.config") or a log attribute key
// names a secret value. See the package documentation for the rule.
func IsSecretKey(key string) bool {
	return secretPath(strings.Split(key, "."), true)
}

// secretPath reports whether the value at path is a secret. leaf says the
// value is a scalar or a list (the leaf rule applies to the last segment);
// for a map only the container rule applies to every segment.
func secretPath(path []string, leaf bool) bool {
	for i, seg := range path {
		if i > 0 && isNameParent(path[i-1]) {
			// The name of a binding or binder chosen by the user
			// ("stream.bindings.resetPassword-in-0"): not a key.
			continue
		}
		file := leaf && i == len(path)-1 && fileKey(seg)
		if containerSecret(seg, file) {
			return true
		}
		if leaf && i == len(path)-1 && leafSecret(seg) {
			return true
		}
	}
	// A dotted property name inside a map ("basic.auth.user.info" in a
	// Kafka client's configuration) is one key split into segments: read
	// its last two segments as one key too.
	if leaf && len(path) >= 2 && !isNameParent(path[len(path)-2]) && (len(path) < 3 || !isNameParent(path[len(path)-3])) {
		return leafSecret(path[len(path)-2] + "-" + path[len(path)-1])
	}
	return false
}

// isNameParent reports whether the keys of a map at seg are names chosen by
// the user rather than property keys.
func isNameParent(seg string) bool {
	switch squash(seg) {
	case "bindings", "binders":
		return true
	}
	return false
}

// squash lower-cases a key and removes separators: "client-Secret" →
// "clientsecret".
func squash(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// containerSuffixes make a key whose value is a map (or anything) secret as
// a whole: "credentials: {user: u, secret: s}", "sasl.jaas.config".
var containerSuffixes = []string{"password", "passwords", "passwd", "pwd", "secret", "secrets",
	"credential", "credentials", "token", "tokens", "jaas", "apikey", "apikeys"}

// containerSecret reports whether seg makes the value below it secret;
// file says seg is the key of a file's name (see fileKey), which names
// where credentials are, not the credentials.
func containerSecret(seg string, file bool) bool {
	s := squash(withoutNumber(seg)) // secrets2, api-keys-2: as secrets, api-keys
	if strings.Contains(s, "jaas") || !file && strings.Contains(s, "credential") {
		return true
	}
	for _, suf := range containerSuffixes {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}

// words splits a key into lower-case words at separators and camelCase
// boundaries: "x-apiKey_ID" → [x api key id], "APIKey" → [api key].
// Keys that arrive lower-cased ("apikey", as viper delivers them) stay one
// word; the rules below look inside such glued words.
func words(seg string) []string {
	var out []string
	rs := []rune(seg)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			// fooBar, foo2Bar
			flush(i)
			start = i
		case unicode.IsUpper(prev) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			// APIKey: the K starts a word
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
}

// notPass are words ending in "pass" that are not passwords.
var notPass = map[string]bool{"bypass": true, "compass": true, "encompass": true, "overpass": true,
	"underpass": true, "surpass": true, "trespass": true}

// fileKey reports whether a key segment names a file, by its last word:
// file (key-file, credentialsFile, keyfile; not profile), file-name,
// filename, location (ssl.keystore.location, trust-store-location) or path
// (private-key-path). Its value is a path: the word credential(s), key,
// cert or private in it does not make the value a secret (credentials-file,
// private-key-file); a password, secret, token, passphrase or jaas in it
// still does (password-file is hidden: the rule errs on the side of
// hiding).
func fileKey(seg string) bool {
	ws := words(seg)
	if len(ws) == 0 {
		return false
	}
	last := ws[len(ws)-1]
	if last == "name" && len(ws) > 1 {
		last = ws[len(ws)-2] + last
	}
	switch {
	case strings.HasSuffix(last, "file") && !strings.HasSuffix(last, "profile"),
		strings.HasSuffix(last, "files") && !strings.HasSuffix(last, "profiles"),
		strings.HasSuffix(last, "filename"),
		strings.HasSuffix(last, "location"),
		strings.HasSuffix(last, "path"):
		return true
	}
	return false
}

// strongWord reports whether one word of a key marks a secret on its own;
// file says the key names a file (fileKey): credential and private key
// then name what the file holds, not the value.
func strongWord(w string, file bool) bool {
	for _, s := range []string{"password", "passwd", "passphrase", "secret", "credential", "jaas", "token", "privatekey"} {
		if file && (s == "credential" || s == "privatekey") {
			continue
		}
		if strings.Contains(w, s) {
			return true
		}
	}
	switch {
	case w == "pass", strings.HasSuffix(w, "pass") && !notPass[w]:
		return true
	case strings.HasPrefix(w, "pwd"), strings.HasSuffix(w, "pwd"):
		return true
	case strings.HasPrefix(w, "private") && !file:
		return true
	case strings.HasPrefix(w, "auth") && authValueWord[strings.TrimPrefix(w, "auth")]:
		// glued: authheader, authvalue
		return true
	case w == "dsn", strings.HasSuffix(w, "dsn"):
		return true
	case strings.Contains(w, "connectionstring"), w == "connstr", w == "connstring":
		return true
	case w == "userinfo":
		// a URL's user info is user:password (basic.auth.user.info)
		return true
	}
	return misspeltSecret(w, file)
}

// typoWords are the secret words a misspelt key is matched to: a word
// holding one of them with one letter added, dropped or changed, or two
// adjacent letters swapped (pasword, passwrod, secert, credentails). The
// binders refuse such a key as unknown, but streambind config and
// /actuator/config print it, and its value is the secret all the same.
var typoWords = []string{"password", "passphrase", "secret", "credential"}

// misspeltSecret reports whether w is a misspelling of a secret word (see
// typoWords); file says the key names a file, where credential names what
// the file holds. token is short: only a whole word is matched, and not
// with a letter changed (taken, woken and broken are not tokens).
func misspeltSecret(w string, file bool) bool {
	for _, t := range typoWords {
		if file && t == "credential" {
			continue
		}
		for n := len(t) - 1; n <= len(t)+1; n++ {
			for i := 0; i+n <= len(w); i++ {
				if oneEdit(w[i:i+n], t, true) {
					return true
				}
			}
		}
	}
	return oneEdit(w, "token", false)
}

// oneEdit reports whether a and b differ by one inserted or deleted byte,
// two adjacent bytes swapped, or (with subst) one byte changed.
func oneEdit(a, b string, subst bool) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0:
		if i == len(a) {
			return false // equal: not a misspelling
		}
		if subst && a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i+1:] == b[i:]
	}
	return false
}

// keyPrefixes are the words that make a following "key" a secret:
// "api-key", "privateKey", "secretkey", "SharedAccessKey".
var keyPrefixes = []string{"api", "private", "secret", "access", "signing", "sign", "signature",
	"encryption", "encrypt", "decryption", "decrypt", "client", "master", "shared", "hmac",
	"license", "licence", "session", "auth", "app", "subscription", "account", "storage",
	"ssl", "tls", "ssh", "jwt", "cipher", "crypto", "aes", "gpg", "pgp", "sas", "root", "admin", "keystore"}

func secretPrefix(w string) bool {
	for _, p := range keyPrefixes {
		if strings.HasSuffix(w, p) {
			return true
		}
	}
	return false
}

// authValueWord are the words after "auth" that name its value:
// auth-header, authorization-value.
var authValueWord = map[string]bool{"header": true, "headers": true, "value": true, "string": true,
	"data": true, "info": true, "code": true, "param": true, "params": true, "cookie": true}

// keyValueWord are the words after "key" that still name the key itself:
// api-key-value, private-key-pem.
var keyValueWord = map[string]bool{"value": true, "data": true, "content": true, "contents": true,
	"material": true, "pem": true, "base64": true, "bytes": true, "text": true, "string": true}

// withoutNumber is seg without the number it ends in and the separators
// around it ("apiKey2", "api-key-2", "db_pass_02" → "apiKey", "api-key",
// "db_pass"), or without the version it ends in, a v that starts a word
// of its own followed by the number ("api-key-v2", "apiKeyV2" → "api-key",
// "apiKey"; not a v glued to a lower-case word: "apikeyv2" → "apikeyv");
// seg as it is when it ends in no digit or is all digits.
func withoutNumber(seg string) string {
	t := strings.TrimRightFunc(seg, func(r rune) bool { return !unicode.IsLetter(r) })
	if t == "" || !strings.ContainsFunc(seg[len(t):], unicode.IsDigit) {
		return seg
	}
	if v := t[len(t)-1]; v == 'v' || v == 'V' {
		stem := t[:len(t)-1]
		prev, _ := utf8.DecodeLastRuneInString(stem)
		if stem != "" && (!unicode.IsLetter(prev) && !unicode.IsDigit(prev) || v == 'V' && unicode.IsLower(prev)) {
			if u := strings.TrimRightFunc(stem, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }); u != "" {
				return u
			}
		}
	}
	return t
}

// leafSecret reports whether the last segment of a key path names a secret:
// by its words, or by them without the number it ends in (apiKey2, api-key-2
// as apiKey, api-key).
func leafSecret(seg string) bool {
	if t := withoutNumber(seg); t != seg && leafSecret(t) {
		return true
	}
	ws := words(seg)
	file := fileKey(seg)
	for i, w := range ws {
		if strongWord(w, file) {
			return true
		}
		last := i == len(ws)-1
		valueNext := !last && authValueWord[ws[i+1]]
		switch {
		case w == "auth" || strings.HasSuffix(w, "auth") || strings.HasPrefix(w, "authoriz") || strings.HasPrefix(w, "authoris"):
			// auth, basic-auth, oauth, authorization, auth-header; not
			// auth-source, auth-mechanism, authorization-uri.
			if last || valueNext {
				return true
			}
		case w == "key" || w == "keys":
			// "key" alone (ssl.key: PEM content), or after a secret-ish
			// word and last (or before value, data...): not
			// routing-key, partition-key-expression, key-serializer,
			// public-key, SharedAccessKeyName, access-key-id.
			if len(ws) == 1 || (i > 0 && secretPrefix(ws[i-1]) && (last || keyValueWord[ws[i+1]])) {
				return true
			}
		case last && strings.HasSuffix(w, "keys") && secretPrefix(strings.TrimSuffix(w, "keys")),
			last && strings.HasSuffix(w, "key") && secretPrefix(strings.TrimSuffix(w, "key")):
			// glued: apikey, privatekey, sharedaccesskey
			return true
		case last && (w == "sig" || w == "signature"):
			// SAS and pre-signed URLs: sig=, X-Amz-Signature=
			return true
		case last && (w == "cookie" || w == "cookies"):
			// Cookie, Set-Cookie headers: session tokens
			return true
		case w == "string" && i > 0 && (ws[i-1] == "connection" || ws[i-1] == "conn"):
			return true
		case w == "info" && i > 0 && ws[i-1] == "user":
			// user-info: user:password (Confluent's basic.auth.user.info)
			return true
		}
	}
	return false
}

// IsSecretValueKey reports whether a key path names one secret value, a
// string — a password, a token, an API key, a connection string — so
// that a list or a map there is a mistake: its last segment is a secret
// by the rule of the package documentation (or its last two, read as one
// key as [IsSecretKey] reads them: basic.auth.user.info), and it is not
// a key that holds several: a last word in the plural (passwords,
// secrets, tokens, api-keys, credentials; also with a number after it:
// secrets2, api-keys-v2), credential and jaas (credentials: {user,
// secret}; SCSt's jaas: {login-module, options}), nor key, auth or
// private alone, whose maps are walked (key.serializer is Kafka's key
// serializer), nor oauth2 (Spring Boot's spring.security.oauth2). A key inside such a container is judged by
// its own name (jaas.options is a map, jaas.options.password a string),
// but for sasl.jaas.config, Kafka's JAAS configuration string.
func IsSecretValueKey(key string) bool {
	path := strings.Split(key, ".")
	n := len(path)
	last := path[n-1]
	if (n > 1 && isNameParent(path[n-2])) || holdsSeveral(last) {
		return false
	}
	if leafSecret(last) {
		return true
	}
	if n < 2 || (n >= 3 && isNameParent(path[n-3])) {
		return false
	}
	prev := path[n-2]
	if holdsSeveral(prev) && squash(last) != "config" {
		return false
	}
	pair := prev + "-" + last
	return !holdsSeveral(pair) && leafSecret(pair)
}

// holdsSeveral reports whether a secret key segment may hold a list or a
// map (see IsSecretValueKey).
func holdsSeveral(seg string) bool {
	switch squash(seg) {
	case "key", "auth", "private":
		return true
	}
	if t := withoutNumber(seg); t != seg {
		// oauth2 is read as oauth (a secret), but is Spring Boot's
		// spring.security.oauth2 namespace; secrets2, api-keys-v2 hold
		// several as secrets and api-keys do. key2, auth2 stay one value.
		if squash(t) == "oauth" || squash(t) != "key" && squash(t) != "auth" && squash(t) != "private" && holdsSeveral(t) {
			return true
		}
	}
	ws := words(seg)
	if len(ws) == 0 {
		return false
	}
	w := ws[len(ws)-1]
	if strings.Contains(w, "jaas") || strings.Contains(w, "credential") {
		return true
	}
	return strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && leafSecret(strings.TrimSuffix(w, "s"))
}
