// Package redact removes secrets from what streambind shows: configuration
// trees served by the management endpoint, and strings in errors and logs
// (amqp.URI.String() and friends include the password). It parses what it
// redacts instead of matching a pattern that stops at the first odd
// character, and when a value cannot be parsed it hides more, never less.
//
// # Keys
//
// A value is hidden entirely (replaced by [Redacted]) when its key names a
// secret. Keys are compared by words: a key is split at '.', '-', '_' and
// camelCase boundaries and lower-cased, so that client-secret, clientSecret,
// client_secret and CLIENT_SECRET are one key. Keys that arrive lower-cased
// and glued ("clientsecret", as viper delivers camelCase keys) are matched by
// looking inside the word. A key is secret when one of its words
//
//   - contains password, passwd, passphrase, secret, credential, jaas,
//     token or privatekey;
//   - is a misspelling of one of them: holds password, passphrase, secret
//     or credential with one letter added, dropped or changed or two
//     adjacent letters swapped (pasword, passwrod, secert, credentails),
//     or is token so misspelt without a changed letter (tokn, toekn; not
//     taken) — a key a binder refuses as unknown still holds the secret;
//   - is pass, or ends in pass (dbpass; not bypass, compass), or starts or
//     ends with pwd;
//   - starts with private (private, private-key);
//   - is auth, ends in auth or starts with authoriz/authoris, and is the
//     last word or is followed by header, value, string, data, info, code,
//     param(s) or cookie (auth, basic-auth, oauth, Authorization,
//     auth-header, authheader); not auth-source, auth-mechanism,
//     authentication, authorization-uri, author, authority;
//   - is dsn or ends in dsn (sentry-dsn), or names a connection string
//     (connection-string, connectionString, connstr), or is user info
//     (user-info, userinfo: user:password);
//   - is the last word and is sig or signature (SAS tokens, pre-signed URLs);
//   - is the last word and is cookie or cookies (a Cookie or Set-Cookie
//     header: session tokens); not cookie-name, cookie-max-age;
//   - is key or keys, and is the whole key (tls.key, the PEM content), or
//     is the last word (or is followed by value, data, content, material,
//     pem, base64, bytes, text or string) and follows a secret-ish word: api, private, secret, access, signing,
//     sign, signature, encryption, encrypt, decryption, decrypt, client,
//     master, shared, hmac, license, licence, session, auth, app,
//     subscription, account, storage, ssl, tls, ssh, jwt, cipher, crypto,
//     aes, gpg, pgp, sas, root, admin, keystore ("api-key", "apiKey", "apikey",
//     "SharedAccessKey", "ssl-key"). Keys in which "key" is only part of a
//     name are not secrets: routing-key, partition-key-expression,
//     key-serializer, key-deserializer, message-key, public-key, keystore,
//     key-store-type, key-file, access-key-id, SharedAccessKeyName.
//
// A key that ends in a number is also read without it and the separators
// before it, and one that ends in a version (a v starting a word, then a
// number) without that: apiKey2, api-key-2, db_pass_02, secrets2,
// api-key-v2 and apiKeyV2 are secrets as apiKey, api-key, db_pass and
// secrets are (and oauth2 as oauth is); key-prefix-2, routing-key-2 and
// routing-key-v2 are not.
//
// A key that names a file — its last word is file (not profile), file-name,
// filename, location or path: credentials-file, key-file, private-key-path,
// ssl.keystore.location — holds a path, which is not a secret, and users
// need to see it (did ${NATS_CREDS} resolve?): credential(s), private and
// key in it do not hide its value (credentials-file, private-key-file,
// credentialsfile are shown). A word that names a secret value itself
// still does (password-file, token-file, secret-file, jaas-file: hiding too
// much is preferred to leaking), and the value is parsed for secrets as
// every other value is. A value that is not shaped like a file name
// ([IsFileName]: a line break, a PEM or NATS "-----BEGIN" block, an nkey
// seed, a JWT, more than 512 bytes) is the file's contents set where its
// name goes, and is hidden.
//
// The last two segments of a dotted key are also read as one key, because
// client property names inside a map are dotted: basic.auth.user.info and
// sasl.oauthbearer.client.secret are secrets wherever they appear.
//
// A key whose value is a map makes the whole map secret when its last word
// ends in password, passwd, pwd, secret(s), credential(s), token(s), jaas or
// apikey(s) (credentials: {user, secret}; sasl.jaas.config); a map under
// key, auth or private is walked, not hidden (key.serializer is Kafka's
// key serializer). The keys directly under a bindings or binders map are
// names chosen by the user (stream.bindings.resetPassword-in-0), not keys,
// and are not matched. [IsSecretValueKey] tells the keys that hold one
// secret value, a string (password), from those that may hold several
// (passwords, credentials, jaas): package config refuses a list or a map
// given to the former.
//
// The rule errs on the side of hiding: token-endpoint-url, key=... in a
// log line or a private-network flag are hidden too.
//
// # Values
//
// Every other string value is parsed for secrets:
//
//   - URLs (scheme://...) by their parts. A URL that net/url parses, whose
//     host is a host name or address, loses the password of its user info
//     ("amqp://u:******@h/"). A URL that does not parse — a raw '/', ' ',
//     '#', '?' or '%' in its password — or whose path, query or fragment
//     holds a '@' while its authority holds a ':' (amqp://u:#pw@h) falls
//     back to a conservative rule: everything between the first ':' after
//     the user and the last '@' that is followed by something host-like is
//     hidden (in a NATS URL without a ':' there, the token before that
//     '@': "nats://TOKEN@h:4222: refused"); when there is no such '@' and
//     the authority is not host:port, everything after the ':'. (So a
//     URL with a port and a '@' in its path loses its port and path up to
//     that '@': hiding too much is preferred to leaking.) A raw ',', ':'
//     or '@' in a password parses (the user info ends at the last '@').
//     Comma-separated lists of URLs are redacted URL by URL; a "://"
//     inside a password does not start a new URL when nothing separates
//     it from the authority. So is a list whose later items have no
//     scheme (RabbitMQ's addresses: "amqp://u:pw@h1/vh, u:pw2@h2:5672"):
//     a ',' ends the URL when the URL before it parses whole, with a host
//     and no '@' after its authority, and only [user[:pw]@]host[:port][/...]
//     items follow it, one at least with a password (a password holding
//     ",u:p@h" would show its pieces; one holding a ',' alone does not).
//   - user:pw@host without a scheme: a comma-separated list of
//     [user[:pw]@]host[:port] items, the first with user info, loses each
//     password; anything else that holds a ':' before a host-like '@'
//     ("u:1234,5@h", "u:p w@h") hides everything from the first ':' to the
//     last such '@'.
//   - name=value pairs whose name is a secret key, in query strings, DSNs
//     and connection strings (?password=x, host=h password=pw,
//     Password=pw;, sasl.password=x, key=x; quoted values whole), and
//     "name": "value" pairs of JSON text. An unquoted value ends at white
//     space, '&' or ';' — in a configuration value only when another
//     name=value pair follows, so "password=a b&c" is hidden whole.
//   - Bearer tokens and Basic credentials (Authorization header values;
//     "Basic" only before base64 of user:password).
//   - PEM private key blocks (-----BEGIN ... PRIVATE KEY-----), to their
//     END line or the end of the text; so are the user JWT and nkey seed
//     blocks of a NATS credentials file (-----BEGIN USER NKEY SEED-----),
//     and nkey seeds (SU..., 58 characters) wherever they are.
//
// In a configuration value ([Tree], [Value]) the whole string is one value,
// so the fallback rules run across spaces; in free text ([String]: errors,
// log lines) a user:pw@host without a scheme is a word (its password may
// run back over at most two earlier words: "user:pass word@h"), and a URL's
// user info runs past white space only when its authority cannot be a
// host:port (amqp://u:pass word@h).
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
)

// Redacted is what a secret is replaced with.
const Redacted = "******"

// Tree returns a deep copy of a configuration tree with secrets replaced:
// values of keys that name secrets (the whole subtree for a map), and the
// secrets inside every other string. It understands map[string]any,
// map[string]string, []any and []string; other leaves are copied as they are
// (numbers and booleans under secret keys are replaced).
func Tree(v any) any {
	return tree(nil, v)
}

func tree(path []string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		if len(path) > 0 && secretPath(path, false) {
			return hideAll(t)
		}
		out := make(map[string]any, len(t))
		for k, sub := range t {
			out[k] = tree(append(path[:len(path):len(path)], k), sub)
		}
		return out
	case map[string]string:
		if len(path) > 0 && secretPath(path, false) {
			return hideAll(t)
		}
		out := make(map[string]any, len(t))
		for k, sub := range t {
			out[k] = tree(append(path[:len(path):len(path)], k), sub)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, sub := range t {
			out[i] = tree(path, sub)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, sub := range t {
			out[i] = tree(path, sub)
		}
		return out
	case string:
		if t == "" {
			return t
		}
		if len(path) > 0 && secretPath(path, true) {
			return Redacted
		}
		if len(path) > 0 && fileKey(path[len(path)-1]) && !IsFileName(t) {
			return Redacted // a file's contents where its name goes
		}
		return value(t, false)
	case nil:
		return nil
	default:
		if len(path) > 0 && secretPath(path, true) {
			return Redacted
		}
		return v
	}
}

// hideAll replaces every leaf of a secret subtree, keeping its keys.
func hideAll(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sub := range t {
			out[k] = hideAll(sub)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(t))
		for k := range t {
			out[k] = Redacted
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, sub := range t {
			out[i] = hideAll(sub)
		}
		return out
	case nil:
		return nil
	case string:
		if t == "" {
			return t
		}
	}
	return Redacted
}

// Value returns a configuration value (a whole string, perhaps a list of
// URLs separated by commas) with its secrets hidden. Its key is not
// considered; see [Tree] for that.
func Value(s string) string { return value(s, false) }

// String returns free text — an error message, a log line — with its
// secrets hidden: URL passwords ("amqp://user:pw@host" →
// "amqp://user:******@host"), NATS tokens ("nats://TOKEN@host" →
// "nats://******@host"), user:pw@host, secret name=value pairs, Bearer
// and Basic credentials and PEM private keys.
func String(s string) string { return value(s, true) }

// mayHold is a cheap test that s can hold a secret [value] recognises.
func mayHold(s string) bool {
	return strings.ContainsAny(s, "@=") || strings.Contains(s, "://") || strings.Contains(s, `":`) || strings.Contains(s, "PRIVATE KEY") ||
		containsFold(s, "bearer") || containsFold(s, "basic")
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// value hides the secrets in s. prose says s is free text rather than one
// configuration value.
func value(s string, prose bool) string {
	s = pem(s)
	if !mayHold(s) && (prose || !strings.Contains(s, ":")) {
		return s
	}
	var m mask
	m.init(len(s))
	urls(s, &m, prose)
	userInfo(s, &m, prose)
	pairs(s, &m, prose)
	authSchemes(s, &m)
	return m.apply(s)
}

// mask collects the ranges of a string to hide, and the ranges already
// taken by a URL (which the scheme-less rule leaves alone).
type mask struct {
	hide  []bool
	taken []bool
}

func (m *mask) init(n int) {
	m.hide = make([]bool, n)
	m.taken = make([]bool, n)
}

func (m *mask) set(from, to int) {
	for i := from; i < to; i++ {
		m.hide[i] = true
	}
}

func (m *mask) take(from, to int) {
	for i := from; i < to; i++ {
		m.taken[i] = true
	}
}

// apply replaces every hidden run with Redacted.
func (m *mask) apply(s string) string {
	var b strings.Builder
	hidden := false
	for i := 0; i < len(s); {
		if !m.hide[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		hidden = true
		b.WriteString(Redacted)
		for i < len(s) && m.hide[i] {
			i++
		}
	}
	if !hidden {
		return s
	}
	return b.String()
}

// pemBlock matches a PEM private key, or the start of one cut short.
var pemBlock = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`)

// natsBlock matches the decorated user JWT or nkey seed of a NATS
// credentials (.creds) file ("-----BEGIN USER NKEY SEED-----" to
// "------END USER NKEY SEED------"), or the start of one cut short.
var natsBlock = regexp.MustCompile(`-{3,}BEGIN [A-Z0-9 ]*(?:NKEY SEED|USER JWT)-{3,}(?s:.*?)(?:-{3,}END [A-Z0-9 ]*(?:NKEY SEED|USER JWT)-{3,}|$)`)

// nkeySeed matches a NATS nkey seed (a private key): S, the key type, then
// base32 (58 characters in all).
var nkeySeed = regexp.MustCompile(`\bS[UOACNPX][A-Z2-7]{50,}\b`)

// pem hides PEM private keys, the user JWT and nkey seed of a NATS
// credentials file, and nkey seeds.
func pem(s string) string {
	if strings.Contains(s, "PRIVATE KEY") {
		s = pemBlock.ReplaceAllLiteralString(s, Redacted)
	}
	if strings.Contains(s, "NKEY SEED") || strings.Contains(s, "USER JWT") {
		s = natsBlock.ReplaceAllLiteralString(s, Redacted)
	}
	if maySeed(s) {
		s = nkeySeed.ReplaceAllLiteralString(s, Redacted)
	}
	return s
}

// maySeed is a cheap test that s holds what nkeySeed matches: S, a key
// type and 50 base32 characters.
func maySeed(s string) bool {
	for i := 0; i+52 <= len(s); i++ {
		if s[i] != 'S' || !strings.ContainsRune("UOACNPX", rune(s[i+1])) {
			continue
		}
		n := 0
		for j := i + 2; j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '2' && s[j] <= '7'); j++ {
			n++
		}
		if n >= 50 {
			return true
		}
		i += 1 + n // the run holds no other start
	}
	return false
}

// scheme matches the start of a URL: "amqp://", "postgresql://" (also inside
// "jdbc:postgresql://").
var scheme = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://`)

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// hostStart reports whether s[i:] starts like a host: a letter, digit or '['.
func hostStart(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '['
}

// lastHostAt returns the index of the last '@' in s[from:to] that is followed
// by something host-like, or -1.
func lastHostAt(s string, from, to int) int {
	for i := to - 1; i >= from; i-- {
		if s[i] == '@' && hostStart(s, i+1) {
			return i
		}
	}
	return -1
}

// validHost matches what net/url leaves in URL.Host for a real host: a name
// or IPv4 address (or nothing: amqp://u:pw@/vh), or a bracketed IPv6
// address, with an optional port.
var validHost = regexp.MustCompile(`^([A-Za-z0-9._~%\-]*|\[[0-9A-Fa-f:.]+(%[A-Za-z0-9._~\-]+)?\])(:[0-9]*)?$`)

// urls hides the passwords of scheme://user:pw@host URLs.
func urls(s string, m *mask, prose bool) {
	locs := scheme.FindAllStringIndex(s, -1)
	for n := 0; n < len(locs); {
		start, auth := locs[n][0], locs[n][1]
		// The next URL starts where this one ends, unless it starts inside
		// this one's authority (amqp://u:x://y@h: a password holding
		// "://"), which no '/', '?', '#', ',' or space ends before it.
		next := n + 1
		for next < len(locs) && !strings.ContainsAny(s[auth:locs[next][0]], "/?#, \t\n\r") {
			next++
		}
		end := len(s)
		if next < len(locs) {
			end = locs[next][0]
		}
		// A list: "amqp://a@h1, amqp://b@h2".
		end = trimListSep(s, auth, end, next < len(locs))
		// A list whose later items have no scheme: "amqp://a:pw@h1/vh,
		// b:pw2@h2" (RabbitMQ's addresses); userInfo hides their
		// passwords.
		end = schemeLessTail(s, start, auth, end)
		oneURL(s, m, prose, start, auth, end)
		n = next
	}
}

// oneURL hides the password of the URL that starts at s[start:] (its
// authority at s[auth:]) and runs at most to end.
//
// tokenSchemes are the schemes whose user info without a password is a
// secret: NATS's token form (nats://TOKEN@host, also over TLS and
// websockets).
var tokenSchemes = map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}

func oneURL(s string, m *mask, prose bool, start, auth, end int) {
	word := end
	if prose {
		word = auth
		for word < end && !isSpace(s[word]) {
			word++
		}
	}
	// The authority as net/url sees it: up to the first '/', '?' or '#'.
	authEnd := auth
	for authEnd < word && !strings.ContainsRune("/?#", rune(s[authEnd])) {
		authEnd++
	}
	// A '@' that follows the authority, when the authority has a ':',
	// may end a password cut short by a raw '#', '?' or '/'
	// (amqp://u:#pw@h, amqp://u:a@b#c@h): that is not a clean parse.
	later := strings.Contains(s[auth:authEnd], ":") && lastHostAt(s, authEnd, word) >= 0
	if u, err := url.Parse(s[start:word]); err == nil && validHost.MatchString(u.Host) && !later {
		m.take(start, word)
		if u.User == nil {
			return
		}
		if _, ok := u.User.Password(); !ok {
			// A NATS URL's lone user info is a token
			// (nats://TOKEN@host); elsewhere it is a user name.
			if tokenSchemes[strings.ToLower(u.Scheme)] && u.User.Username() != "" {
				m.set(auth, strings.LastIndexByte(s[auth:authEnd], '@')+auth)
			}
			return
		}
		at := strings.LastIndexByte(s[auth:authEnd], '@') + auth
		colon := strings.IndexByte(s[auth:at], ':') + auth
		m.set(colon+1, at)
		return
	}
	// Does not parse: a password with raw delimiters, or no host.
	stop := word
	at := lastHostAt(s, auth, word)
	if at < 0 && prose && !hostPort(s[auth:authEnd]) {
		// "amqp://u:pass word@h": the user info runs on past the
		// white space to the next word that holds a host-like '@'.
		for i := word; i < end; {
			for i < end && isSpace(s[i]) {
				i++
			}
			j := i
			for j < end && !isSpace(s[j]) {
				j++
			}
			if a := lastHostAt(s, i, j); a >= 0 {
				at, stop = a, j
				break
			}
			i = j
		}
	}
	m.take(start, stop)
	if at >= 0 {
		if colon := strings.IndexByte(s[auth:at], ':'); colon >= 0 {
			m.set(auth+colon+1, at)
		} else if at > auth && tokenSchemes[strings.ToLower(s[start:auth-3])] {
			// A NATS token: "nats://TOKEN@h:4222: refused" in prose
			// does not parse (its port ends in ':').
			m.set(auth, at)
		}
		return
	}
	if colon := strings.IndexByte(s[auth:authEnd], ':'); colon >= 0 && !hostPort(s[auth:authEnd]) {
		// No host at all and not host:port: all after the ':' may be
		// the password ("amqp://u:p/w" cut short).
		m.set(auth+colon+1, word)
	}
}

// trimListSep moves end back over the ',' and white space that separate
// this URL from the next one in a list.
func trimListSep(s string, from, end int, next bool) int {
	if !next {
		return end
	}
	e := end
	for e > from && isSpace(s[e-1]) {
		e--
	}
	if e > from && (s[e-1] == ',' || s[e-1] == ';') {
		return e - 1
	}
	return end
}

// schemeLessTail returns where the URL at s[start:] (its authority at
// s[auth:]) ends when a ',' after it starts a list of scheme-less items
// ("amqp://a:pw@h1:5672/vh1, b:pw2@h2:5672"): the first ',' before which
// the URL parses as a whole, with a host and no '@' after its authority,
// and after which come only [user[:pw]@]host[:port][/...] items, one at
// least with a password. Else end: a ',' inside a password
// (amqp://u:a,b@h) is not such a ','.
func schemeLessTail(s string, start, auth, end int) int {
	for i := auth; i < end; i++ {
		if s[i] != ',' || !schemeLessItems(s[i+1:end]) {
			continue
		}
		head := s[start:i]
		authEnd := auth
		for authEnd < i && !strings.ContainsRune("/?#", rune(s[authEnd])) {
			authEnd++
		}
		if strings.Contains(s[authEnd:i], "@") || strings.ContainsAny(head, " \t\n\r") {
			continue
		}
		if u, err := url.Parse(head); err == nil && u.Host != "" && validHost.MatchString(u.Host) {
			return i
		}
	}
	return end
}

// schemeLessItems reports whether s is a comma-separated list of
// [user[:pw]@]host[:port][/...] items without a scheme, white space only
// around them, one at least with user:pw.
func schemeLessItems(s string) bool {
	withPassword := false
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" || strings.ContainsAny(item, " \t\n\r") || strings.Contains(item, "://") {
			return false
		}
		host := item
		if at := strings.LastIndexByte(item, '@'); at >= 0 {
			ui := item[:at]
			if ui == "" || strings.ContainsRune(ui, '/') {
				return false
			}
			withPassword = withPassword || strings.Contains(ui, ":")
			host = item[at+1:]
		}
		host, _, _ = strings.Cut(host, "/")
		if !hostStart(host, 0) || !hostPort(host) {
			return false
		}
	}
	return withPassword
}

// hostPort reports whether an authority without user info is host or
// host:port (an empty or numeric port).
func hostPort(a string) bool {
	a = strings.TrimRight(a, ".,;:)}'\"!")
	if strings.HasPrefix(a, "[") {
		return validHost.MatchString(a)
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return true
	}
	return strings.Trim(a[i+1:], "0123456789") == "" && !strings.Contains(a[:i], ":")
}

// userInfo hides the password of user:pw@host forms without a scheme
// ("guest:guest@rabbit:5672", Go's MySQL "u:pw@tcp(h:3306)/db"), outside the
// URLs already handled.
func userInfo(s string, m *mask, prose bool) {
	if !strings.Contains(s, "@") {
		return
	}
	// Runs of text outside URLs; in prose, words: split at white space and
	// quotes too.
	type run struct{ from, to int }
	var runs []run
	for i := 0; i < len(s); {
		if m.taken[i] || prose && isBoundary(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !m.taken[j] && !(prose && isBoundary(s[j])) {
			j++
		}
		runs = append(runs, run{i, j})
		i = j
	}
	for n, r := range runs {
		at := userInfoRun(s, r.from, r.to, m)
		if at < 0 || !prose {
			continue
		}
		// "user:pass word@host" in prose: the user info began up to two
		// words back, in a word with a ':' inside it ("user:pass"), with
		// only spaces between.
		for k := n - 1; k >= 0 && k >= n-2; k-- {
			prev, next := runs[k], runs[k+1]
			if !allSpace(s[prev.to:next.from]) {
				break
			}
			w := s[prev.from:prev.to]
			if strings.ContainsAny(w, "@") || strings.HasSuffix(w, ":") || !isLetter(w[0]) {
				break
			}
			if c := strings.IndexByte(w, ':'); c >= 0 {
				m.set(prev.from+c+1, at)
				break
			}
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

func isBoundary(c byte) bool {
	return isSpace(c) || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`'
}

// userInfoRun handles s[from:to]: first as a clean comma-separated list of
// [user[:pw]@]host items, else by the conservative rule (from the first ':'
// to the last host-like '@'). It returns the index of the '@' of a run
// that holds a host-like '@' but no ':' before it (a user only, or the
// end of a password that began in an earlier word), else -1.
func userInfoRun(s string, from, to int, m *mask) int {
	last := lastHostAt(s, from, to)
	if last < 0 {
		return -1
	}
	if !strings.Contains(s[from:last], ":") {
		return last
	}
	// Clean: items "[user[:pw]@]host[:port][/...]" separated by ',', the
	// first with user info ("a:b@h1,c:d@h2", "u:p@h1,h2"). Anything else
	// ("user:1234,5@host", "u:p w@h", "user:,x@h") may be a password that
	// holds a ',', a space or a '/'.
	var hides [][2]int
	clean := true
	seenAt := false
	for i := from; i <= to && clean; {
		j := i
		for j < to && s[j] != ',' {
			j++
		}
		item := s[i:j]
		lead := len(item) - len(strings.TrimLeft(item, " \t\n\r"))
		item = strings.TrimRight(item[lead:], " \t\n\r")
		if at := strings.LastIndexByte(item, '@'); at >= 0 {
			ui, host := item[:at], item[at+1:]
			switch {
			case ui == "" || strings.ContainsAny(ui, " \t\n\r/") || !hostStart(host, 0) || strings.ContainsAny(host, " \t\n\r"):
				clean = false
			case strings.IndexByte(ui, ':') >= 0:
				c := strings.IndexByte(ui, ':')
				hides = append(hides, [2]int{i + lead + c + 1, i + lead + at})
			}
			seenAt = true
		} else if item != "" && (!seenAt || strings.ContainsAny(item, " \t\n\r") || !hostPort(strings.SplitN(item, "/", 2)[0])) {
			// A piece before any user info, or not a host:port: a
			// piece of a password.
			clean = false
		}
		i = j + 1
	}
	if clean {
		for _, h := range hides {
			m.set(h[0], h[1])
		}
		return -1
	}
	c := strings.IndexByte(s[from:last], ':')
	m.set(from+c+1, last)
	return -1
}

// pairName matches "name=" and "name = " of key=value text, and "\"name\":"
// of JSON; the name starts after a delimiter.
var pairName = regexp.MustCompile(`(?:^|[\s?&;,(\[{"'])([A-Za-z_][A-Za-z0-9_.\-]*)("?)\s*([=:])\s*`)

// pairs hides the values of name=value pairs whose name is a secret key.
func pairs(s string, m *mask, prose bool) {
	if !strings.ContainsAny(s, "=:") {
		return
	}
	// covered is where the last hidden value ends: a pair inside it is
	// part of that value, and skipping it keeps the work linear.
	covered := 0
	hide := func(from, to int) {
		m.set(from, to)
		covered = to
	}
	for _, loc := range pairName.FindAllStringSubmatchIndex(s, -1) {
		if loc[2] < covered {
			continue
		}
		name := s[loc[2]:loc[3]]
		quotedName := loc[5] > loc[4]
		sep := s[loc[6]]
		if sep == ':' && !quotedName {
			// In prose "name:" is only a pair in JSON ("password: must
			// not be empty" is a message). A configuration value may be a
			// YAML text of its own (a client's config in one key):
			// "name: value" at a line's start, or after "{" or "," of a
			// flow map, is a pair there.
			// "Authorization: Bearer x" is left to authSchemes, which
			// keeps the scheme.
			if !prose && IsSecretKey(name) && !authValue(s[loc[1]:]) {
				if end, ok := yamlPair(s, loc[2], loc[1]); ok {
					hide(loc[1], end)
				}
			}
			continue
		}
		if !IsSecretKey(name) {
			continue
		}
		v := loc[1]
		if v >= len(s) {
			continue
		}
		if q := s[v]; q == '"' || q == '\'' {
			e := v + 1
			for e < len(s) && s[e] != q {
				if s[e] == '\\' {
					e++
				}
				e++
			}
			e = min(e, len(s))
			if e+1 < len(s) && !isSpace(s[e+1]) && !strings.ContainsRune("&;,)}]", rune(s[e+1])) {
				// Text right after the closing quote: the quote was part
				// of the value ("password=""x").
				hide(v, pairEnd(s, e+1, prose))
				continue
			}
			hide(v+1, e)
			continue
		}
		if sep == ':' {
			// JSON number or literal.
			e := v
			for e < len(s) && !strings.ContainsRune(",}] \t\n", rune(s[e])) {
				e++
			}
			hide(v, e)
			continue
		}
		e := pairEnd(s, v, prose)
		if !prose {
			// In a configuration value, a space, '&' or ';' ends the
			// value only if another name=value pair follows:
			// "password=a b&c" hides "a b&c", "password=a dbname=b"
			// and "password=a&sslmode=b" hide "a".
			for e < len(s) && (isSpace(s[e]) || s[e] == '&' || s[e] == ';') {
				w := e + 1
				for w < len(s) && isSpace(s[w]) {
					w++
				}
				if w == len(s) || pairAhead.MatchString(s[w:]) {
					break
				}
				e = pairEnd(s, w, prose)
			}
		}
		hide(v, e)
	}
}

// yamlPair reports whether the unquoted "name:" at s[name:] (its value
// at s[v:]) is a YAML pair, and where its value ends: after a line's
// indentation (or a "- " list item) the value runs to the line's end,
// after "{" or "," of a flow map to the next ",", "}" or line end. A
// quoted value is hidden with its quotes (in a flow map, only up to a
// comma inside the quotes).
func yamlPair(s string, name, v int) (int, bool) {
	i := name - 1
	for i >= 0 && (s[i] == ' ' || s[i] == '\t') {
		i--
	}
	if i >= 1 && s[i] == '-' && (s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\n') || i == 0 && s[0] == '-' {
		for i--; i >= 0 && (s[i] == ' ' || s[i] == '\t'); i-- {
		}
	}
	if s[v-1] == ':' { // pairName's \s* took no space (nor the line's end)
		return 0, false // "name:x" without a space: no YAML pair
	}
	end := v
	switch {
	case i < 0 || s[i] == '\n':
		for end < len(s) && s[end] != '\n' && s[end] != '\r' {
			end++
		}
	case s[i] == '{' || s[i] == ',':
		if end < len(s) && (s[end] == '"' || s[end] == '\'') {
			// A quoted value may hold "," or "}": it ends at its
			// closing quote (or the line's end).
			q := s[end]
			for end++; end < len(s) && s[end] != q && s[end] != '\n'; end++ {
				if s[end] == '\\' && q == '"' {
					end++
				}
			}
			return min(end+1, len(s)), true
		}
		for end < len(s) && !strings.ContainsRune(",}\n\r", rune(s[end])) {
			end++
		}
	default:
		return 0, false
	}
	for end > v && (s[end-1] == ' ' || s[end-1] == '\t') {
		end--
	}
	return end, end > v
}

// authValue reports whether v starts with a Bearer or Basic credential.
func authValue(v string) bool {
	for _, p := range []string{"bearer ", "basic "} {
		if len(v) >= len(p) && strings.EqualFold(v[:len(p)], p) {
			return true
		}
	}
	return false
}

// pairAhead matches the start of a name=value pair.
var pairAhead = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*\s*=`)

// pairEnd returns where an unquoted value starting at s[v] ends: at white
// space, '&', ';', a ',' before another URL, or (in prose) a quote.
func pairEnd(s string, v int, prose bool) int {
	e := v
	for e < len(s) && !isSpace(s[e]) && s[e] != '&' && s[e] != ';' && !(prose && (s[e] == '"' || s[e] == '\'')) {
		if s[e] == ',' && scheme.MatchString(leadingScheme(s[e+1:])) {
			break
		}
		e++
	}
	return e
}

// leadingScheme returns the start of s up to and with its first "://", or "".
func leadingScheme(s string) string {
	s = strings.TrimLeft(s, " \t")
	if i := strings.Index(s, "://"); i > 0 && i < 40 {
		return s[:i+3]
	}
	return ""
}

// authScheme matches the credentials of Authorization header values.
var authScheme = regexp.MustCompile(`(?i)\b(bearer|basic)\s+([A-Za-z0-9\-._~+/]+=*)`)

func authSchemes(s string, m *mask) {
	for _, loc := range authScheme.FindAllStringSubmatchIndex(s, -1) {
		kind := strings.ToLower(s[loc[2]:loc[3]])
		cred := s[loc[4]:loc[5]]
		if kind == "basic" && !isBasicCredential(cred) {
			continue // "basic usage", "Basic auth failed"
		}
		m.set(loc[4], loc[5])
	}
}

// isBasicCredential reports whether cred is base64 of "user:password".
func isBasicCredential(cred string) bool {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(cred)
	}
	return err == nil && strings.Contains(string(b), ":")
}
