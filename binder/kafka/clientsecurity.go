package kafka

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// The JAAS login modules of sasl.jaas.config that kafka-go can stand in for.
const (
	plainModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	scramModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
)

// unsetWhenEmpty reports whether an empty value of security property k is
// the property not set: what a file holds that sets it per environment
// (sasl.jaas.config: ${KAFKA_JAAS:}) where the variable is unset. The
// Kafka client ignores the SASL and store settings it does not use, so
// such a file works against a plain-text broker there too. Not so
// security.protocol (the client refuses an empty one) and
// ssl.endpoint.identification.algorithm (empty turns host name checking
// off).
func unsetWhenEmpty(k string) bool {
	switch k {
	case "sasl.mechanism", "sasl.jaas.config", "ssl.truststore.location", "ssl.keystore.location",
		"ssl.truststore.type", "ssl.keystore.type", "ssl.protocol":
		return true
	}
	return false
}

// decodeConnProp decodes a connection or security property of the
// binder's configuration map into conn.
func decodeConnProp(p, k string, v any, conn *connProps) (err error) {
	if sv, ok := v.(string); ok && strings.TrimSpace(sv) == "" && unsetWhenEmpty(k) {
		return nil
	}
	if conn.paths == nil {
		conn.paths = map[string]string{}
	}
	conn.paths[k] = p
	if k != "bootstrap.servers" && k != "client.id" {
		conn.any = true
	}
	switch k {
	case "bootstrap.servers":
		var l []string
		if l, err = props.List(v); err == nil {
			if len(l) == 0 {
				return conf.ErrEmpty
			}
			var addrs []string
			if addrs, conn.schemes, err = parseBrokers(l, p); err == nil {
				conn.brokers.put(addrs)
			}
		}
	case "client.id":
		var s string
		if s, err = str(v); err == nil {
			conn.clientID.put(s)
		}
	case "security.protocol":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		switch s = strings.ToUpper(s); s {
		case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
			conn.protocol = s
		default:
			return fmt.Errorf("want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got %q", s)
		}
	case "sasl.mechanism":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		switch s = strings.ToUpper(s); s {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
			conn.mechanism = s
		case "GSSAPI", "OAUTHBEARER":
			return fmt.Errorf("%s is not supported by kafka-go: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s)
		default:
			return fmt.Errorf("want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", s)
		}
	case "sasl.jaas.config":
		s, ok := v.(string)
		if !ok {
			return errors.New("want a string") // never echo a secret
		}
		module, opts, err := parseJAAS(s)
		if err != nil {
			return err
		}
		if module != plainModule && module != scramModule {
			return fmt.Errorf("login module %s is not supported: kafka-go supports SASL PLAIN (%s) and SCRAM (%s)", module, plainModule, scramModule)
		}
		for o := range opts {
			if o != "username" && o != "password" {
				return fmt.Errorf("option %q of %s is not supported (only username and password)", o, module)
			}
		}
		if opts["username"] == "" {
			return fmt.Errorf("%s needs a username option", module)
		}
		conn.jaasSet, conn.jaasModule = true, module
		conn.username, conn.password = opts["username"], opts["password"]
	case "ssl.truststore.location":
		conn.truststore, err = str(v)
	case "ssl.keystore.location":
		conn.keystore, err = str(v)
	case "ssl.truststore.type", "ssl.keystore.type":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		if s = strings.ToUpper(s); s != "PEM" {
			return fmt.Errorf("%s is not supported: Go's TLS reads PEM files only (convert a JKS or PKCS12 store with keytool and openssl, and set PEM)", s)
		}
		if k == "ssl.truststore.type" {
			conn.truststoreType = s
		} else {
			conn.ksType = s
		}
	case "ssl.endpoint.identification.algorithm":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "https":
			conn.noHostnameCheck = false
		case "":
			conn.noHostnameCheck = true
		default:
			return fmt.Errorf("want https or an empty string (no host name check), got %q", s)
		}
	case "ssl.protocol":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		switch strings.ToUpper(s) {
		case "TLS", "TLSV1.2":
			conn.tlsMin = tls.VersionTLS12
		case "TLSV1.3":
			conn.tlsMin = tls.VersionTLS13
		default:
			return fmt.Errorf("want TLSv1.2 or TLSv1.3 (the lowest version accepted), got %q", s)
		}
	default:
		if strings.HasPrefix(k, "sasl.") {
			return errors.New("not supported: kafka-go supports SASL PLAIN and SCRAM, configured by sasl.mechanism and sasl.jaas.config only")
		}
		return errors.New("not supported: of the ssl.* properties kafka-go can honour ssl.truststore.location and ssl.keystore.location (PEM files), their types (PEM), ssl.endpoint.identification.algorithm and ssl.protocol")
	}
	return err
}

// buildConn applies the connection properties to out. It reports
// conflicts and unusable files to d at the property's path, every file's
// problem (cannot be read, not PEM) as a conf.FileProblem, which streambind
// lint tells from the others. skipFiles: no file is read
// (stream.BinderSettings SkipFiles).
func buildConn(d *props.Decoder, conn *connProps, typedSecurity, skipFiles bool, out *settings) {
	if conn.brokers.set {
		out.brokers, out.schemes = conn.brokers.v, conn.schemes
	}
	out.clientID = conn.clientID.over(out.clientID)
	if !conn.any {
		return
	}
	at := func(keys ...string) string {
		for _, k := range keys {
			if p, ok := conn.paths[k]; ok {
				return p
			}
		}
		return ""
	}
	anyPath := at("security.protocol", "sasl.jaas.config", "sasl.mechanism", "ssl.truststore.location", "ssl.keystore.location", "ssl.truststore.type", "ssl.keystore.type", "ssl.endpoint.identification.algorithm", "ssl.protocol")
	if typedSecurity {
		d.Addf(anyPath, "security is given both as Kafka properties and in the binder's tls or sasl keys: give it one way")
		return
	}
	if conn.password != "" {
		out.secrets = append(out.secrets, conn.password)
	}
	proto, protoDesc := conn.protocol, conn.protocol // protoDesc: for messages
	if proto == "" {
		proto, protoDesc = "PLAINTEXT", "PLAINTEXT (the default: it is not set)" // Kafka's default
	}
	useSASL := strings.HasPrefix(proto, "SASL_")
	useTLS := strings.HasSuffix(proto, "SSL")
	saslSet := conn.jaasSet || conn.mechanism != ""
	switch {
	case useSASL && !conn.jaasSet:
		d.Addf(at("security.protocol"), "%s needs sasl.jaas.config (a PlainLoginModule or ScramLoginModule line with username and password)", proto)
	case !useSASL && saslSet:
		d.Addf(at("sasl.jaas.config", "sasl.mechanism"), "SASL is used only with security.protocol SASL_PLAINTEXT or SASL_SSL, and security.protocol is %s", protoDesc)
	case useSASL:
		mech := conn.mechanism
		switch {
		case conn.jaasModule == plainModule && mech == "":
			mech = "PLAIN"
		case conn.jaasModule == plainModule && mech != "PLAIN":
			d.Addf(at("sasl.mechanism"), "%s does not go with %s (PLAIN does)", mech, plainModule)
			return
		case conn.jaasModule == scramModule && !strings.HasPrefix(mech, "SCRAM-"):
			d.Addf(at("sasl.mechanism", "sasl.jaas.config"), "%s needs sasl.mechanism SCRAM-SHA-256 or SCRAM-SHA-512", scramModule)
			return
		}
		m, err := saslMechanism(mech, conn.username, conn.password)
		if err != nil {
			d.Addf(at("sasl.jaas.config"), "%v", err)
		} else {
			out.sasl = m
		}
	}
	sslSet := conn.truststore != "" || conn.keystore != "" || conn.noHostnameCheck || conn.tlsMin != 0
	if !useTLS {
		if sslSet {
			d.Addf(at("ssl.truststore.location", "ssl.keystore.location", "ssl.endpoint.identification.algorithm", "ssl.protocol"),
				"TLS is used only with security.protocol SSL or SASL_SSL, and security.protocol is %s", protoDesc)
		}
		return
	}
	// Every store is checked, each problem reported once, at the Kafka
	// property that names the file; problems with a file's presence or
	// contents are conf.FileProblems ("file <name>: ...").
	bad := map[string]bool{}
	for _, f := range []struct{ file, typ, key string }{
		{conn.truststore, conn.truststoreType, "ssl.truststore.location"},
		{conn.keystore, conn.ksType, "ssl.keystore.location"},
	} {
		if f.file == "" || f.typ == "PEM" || skipFiles {
			continue
		}
		// Kafka's default store type is JKS: a file that is PEM is taken
		// as such, anything else is refused with the way out.
		b, err := conf.ReadFile(f.file)
		switch {
		case err != nil:
			d.Add(conn.paths[f.key], err)
			bad[f.key] = true
		case !bytes.Contains(b, []byte("-----BEGIN ")):
			d.Add(conn.paths[f.key], conf.FileProblem(f.file, "is not a PEM file (a JKS or PKCS12 store?): Go's TLS reads PEM files only; convert it with keytool and openssl and set the store type to PEM"))
			bad[f.key] = true
		}
	}
	t := conf.TLS{Set: true, SkipFiles: skipFiles}
	if !bad["ssl.truststore.location"] {
		t.CAFile = conn.truststore
	}
	if !bad["ssl.keystore.location"] {
		t.CertFile, t.KeyFile = conn.keystore, conn.keystore
	}
	var sub props.Decoder
	cfg := t.Build(&sub, "")
	if err := sub.Err(); err != nil {
		// Report at the Kafka property that named the file.
		var ces stream.ConfigErrors
		errors.As(err, &ces)
		for _, e := range ces {
			key := "ssl.keystore.location"
			if strings.HasSuffix(e.Path, ".tls.ca-file") {
				key = "ssl.truststore.location"
			}
			d.Addf(conn.paths[key], "%s", e.Msg)
		}
		return
	}
	if len(bad) > 0 {
		return
	}
	if conn.tlsMin != 0 {
		cfg.MinVersion = conn.tlsMin
	}
	if conn.noHostnameCheck {
		skipHostname(cfg)
	}
	out.tls = cfg
}

// skipHostname makes cfg verify the server's certificate chain against its
// roots without checking the host name, as Kafka does with an empty
// ssl.endpoint.identification.algorithm (InsecureSkipVerify alone would
// accept any certificate).
func skipHostname(cfg *tls.Config) {
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true //nolint:gosec // the chain is verified in VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		return err
	}
}

// saslMechanism returns the kafka-go mechanism for mech (PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512; "" is PLAIN).
func saslMechanism(mech, user, pass string) (sasl.Mechanism, error) {
	switch strings.ToUpper(strings.ReplaceAll(mech, "_", "-")) {
	case "PLAIN", "":
		return plain.Mechanism{Username: user, Password: pass}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, user, pass)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, user, pass)
	}
	return nil, fmt.Errorf("want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", mech)
}

// parseJAAS parses a sasl.jaas.config value: one login module entry,
//
//	<module class> <flag> [<option>=<value> ...];
//
// where a value is a double-quoted string (with \" and \\ escapes) or a
// bare word. Its errors never quote the text, which holds a password.
func parseJAAS(s string) (module string, opts map[string]string, err error) {
	i := 0
	skip := func() {
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
	}
	word := func() string {
		j := i
		for i < len(s) && !unicode.IsSpace(rune(s[i])) && s[i] != '=' && s[i] != ';' && s[i] != '"' {
			i++
		}
		return s[j:i]
	}
	skip()
	if module = word(); module == "" {
		return "", nil, errors.New("want \"<login module class> required username=\\\"...\\\" password=\\\"...\\\";\"")
	}
	skip()
	switch flag := word(); flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", nil, fmt.Errorf("want a control flag (required) after the login module %s", module)
	}
	opts = map[string]string{}
	for {
		skip()
		if i >= len(s) {
			return "", nil, errors.New("the login module entry does not end with ';'")
		}
		if s[i] == ';' {
			i++
			skip()
			if i < len(s) {
				return "", nil, errors.New("text after the ';' that ends the login module entry (one entry is allowed)")
			}
			return module, opts, nil
		}
		key := word()
		if key == "" || i >= len(s) || s[i] != '=' {
			return "", nil, fmt.Errorf("want option=value at character %d", i+1)
		}
		i++ // '='
		var val string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					b.WriteByte(s[i])
					i++
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return "", nil, fmt.Errorf("the value of option %s has no closing quote", key)
			}
			val = b.String()
		} else {
			val = word()
		}
		if _, dup := opts[key]; dup {
			return "", nil, fmt.Errorf("option %s is given twice", key)
		}
		opts[key] = val
	}
}

// decodeJAASSection decodes SCSt's binder jaas section (login-module,
// control-flag, options.username, options.password), the older form of
// sasl.jaas.config, into conn. SCSt's default login module is Kerberos's,
// which kafka-go does not have, so login-module must be given.
func decodeJAASSection(d *props.Decoder, p string, v any, conn *connProps) error {
	m, err := props.Map(v)
	if err != nil {
		return err
	}
	if conn.paths == nil {
		conn.paths = map[string]string{}
	}
	conn.paths["sasl.jaas.config"] = p
	conn.any = true
	module := ""
	d.Each(p, m, func(k, p2 string, v any) (err error) {
		switch k {
		case "loginmodule":
			if module, err = str(v); err == nil && module != plainModule && module != scramModule {
				err = fmt.Errorf("%s is not supported: kafka-go supports SASL PLAIN (%s) and SCRAM (%s)", module, plainModule, scramModule)
			}
		case "controlflag":
			var s string
			if s, err = str(v); err == nil {
				switch strings.ToLower(s) {
				case "required", "requisite", "sufficient", "optional":
				default:
					err = fmt.Errorf("want required, requisite, sufficient or optional, got %q", s)
				}
			}
		case "options":
			var o map[string]any
			if o, err = props.Map(v); err != nil {
				return err
			}
			d.Each(p2, o, func(k, _ string, v any) (err error) {
				switch k {
				case "username":
					conn.username, err = str(v)
				case "password":
					conn.password, err = conf.Secret(v)
				default:
					err = errors.New("not supported: only username and password")
				}
				return err
			})
		default:
			err = props.UnknownKey("known: login-module, control-flag, options")
		}
		return err
	})
	switch {
	case module == "":
		return fmt.Errorf("needs login-module: SCSt's default is Kerberos (Krb5LoginModule), which kafka-go does not support; give %s or %s", plainModule, scramModule)
	case conn.username == "":
		return errors.New("needs options.username")
	}
	conn.jaasSet, conn.jaasModule = true, module
	return nil
}
