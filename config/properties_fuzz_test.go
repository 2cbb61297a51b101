package config

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// FuzzLoadProperties feeds arbitrary bytes as application.properties. Load
// must never panic, must report problems only as stream.ConfigErrors and
// must be deterministic.
func FuzzLoadProperties(f *testing.F) {
	for _, s := range []string{
		"",
		"stream.default-binder=memory\n",
		"a[0]=1\na[2]=2\n",
		"a=1\na.b=2\n",
		"a.[b.c]=1\nx\\\n  y=2\n",
		"k=\\u12\n",
		"#---\nspring.config.activate.on-profile=a&b|c\n",
		"x=${y}\ny=${x}\n",
		"spring.rabbitmq.port=abc\nspring.rabbitmq.ssl=1\n",
		"stream.function.bindings.p-in-0=input\nstream.bindings.INPUT.group=g\n",
		"a[99999]=1\n[0]=x\n].=1\n",
		"a[-1]=1\nb[99999999999999999999]=2\nc[0]=x\nc=y\n",
		"\xef\xbb\xbfa=caf\xe9\n",
		"logging.level.root=verbose\nlogging.level.com.acme=debug\nmanagement.server.port=-1\nmanagement.endpoints.web.exposure.include=*\n",
		"k0=${k1}${k1}\nk1=${k2}${k2}\nk2=${k3}${k3}\nk3=x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{Dir: t.TempDir(), Data: data, Name: "application.properties", Env: []string{}, Logger: discard}
		l, err := Load(opts)
		if l == nil || l.Stream == nil {
			t.Fatal("Load returned no Loaded")
		}
		if err != nil {
			var es stream.ConfigErrors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not a non-empty stream.ConfigErrors: %v", err, err)
			}
		}
		_, err2 := Load(opts)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("not deterministic:\n%v\n%v", err, err2)
		}
	})
}
