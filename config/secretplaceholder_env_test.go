package config

import (
	"strings"
	"testing"
)

// Since a variable's value has its own placeholders resolved (87a93dd), a
// secret variable a key refers to (myapp.db-password: ${DB_PASSWORD}) is
// resolved in turn, and a problem with it quoted its contents: "in the
// value of environment variable DB_PASSWORD ...: placeholder
// ${Kq9zSecret}: ...", or the fragment itself (placeholder
// "${:Kq9zSecret}" names no variable). Secrets never appear in errors:
// the problem names the secret variable and shows nothing of its value.
func TestSecretEnvValuePlaceholderProblemHidden(t *testing.T) {
	const frag = "Kq9z"
	for _, c := range []struct {
		data string
		env  []string
		path string
	}{
		{"myapp.db-password: ${DB_PASSWORD}\n", []string{"DB_PASSWORD=p${Kq9zSecret}w"}, "myapp.db-password"},
		{"myapp.db-password: ${DB_PASSWORD}\n", []string{"DB_PASSWORD=p${:Kq9zSecret}w"}, "myapp.db-password"},
		{"myapp.dest: ${DEST}\n", []string{"DEST=${DB_PASSWORD}", "DB_PASSWORD=p${:Kq9zSecret}w"}, "myapp.dest"},
		// Through a variable the secret refers to, and a cycle through it.
		{"myapp.dest: ${DEST}\n", []string{"DEST=${DB_PASSWORD}", "DB_PASSWORD=p${Kq9zOther}w", "Kq9zOther=${Kq9zSecret}"}, "myapp.dest"},
		{"myapp.dest: ${DEST}\n", []string{"DEST=${DB_PASSWORD}", "DB_PASSWORD=p${Kq9zA}w", "Kq9zA=${DB_PASSWORD}"}, "myapp.dest"},
		// Profile keys and locations (imports.go's lookups).
		{"spring.profiles.active: ${DB_PASSWORD}\n", []string{"DB_PASSWORD=p${Kq9zSecret}w"}, "spring.profiles.active"},
		{"spring.config.import: ${DB_PASSWORD}\n", []string{"DB_PASSWORD=p${:Kq9zSecret}w"}, "spring.config.import"},
	} {
		es := configErrors(t, Options{Data: []byte(c.data), Env: c.env})
		all := ""
		for _, e := range es {
			all += e.Error() + "\n"
		}
		if strings.Contains(all, frag) {
			t.Errorf("%v: the problems show the secret's contents:\n%s", c.env, all)
		}
		if len(es) != 1 || es[0].Path != c.path || !strings.Contains(es[0].Msg, "the value of environment variable DB_PASSWORD (a secret, not shown) has a placeholder that cannot be resolved") {
			t.Errorf("%v: %v; want one problem at %s naming DB_PASSWORD as a secret", c.env, es, c.path)
		}
	}

	// An optional location: its warning.
	l := mustLoad(t, Options{Data: []byte("spring.config.import: optional:${DB_PASSWORD}\n"), Logger: discard, Env: []string{"DB_PASSWORD=p${Kq9zSecret}w"}})
	for _, w := range l.Warnings {
		if strings.Contains(w.Error(), frag) {
			t.Errorf("warning shows the secret's contents: %v", w)
		}
	}

	// A section decoded (expandPlaceholders): the variable's own value, and
	// one it refers to.
	for _, env := range [][]string{
		{"MYAPP_DB_PASSWORD=p${Kq9zSecret}w"},
		{"MYAPP_DB_PASSWORD=p${:Kq9zSecret}w"},
		{"MYAPP_URL=${DB_PASSWORD}", "DB_PASSWORD=p${:Kq9zSecret}w"},
		{"MYAPP_URL=${DB_PASSWORD}", "DB_PASSWORD=${Kq9zA}", "Kq9zA=${DB_PASSWORD}"},
	} {
		l := mustLoad(t, Options{Data: []byte("myapp.x: 1\n"), Logger: discard, Env: env})
		var own map[string]any
		err := l.Decode("myapp", &own)
		if err == nil || strings.Contains(err.Error(), frag) || !strings.Contains(err.Error(), "(a secret, not shown) has a placeholder that cannot be resolved") {
			t.Errorf("%v: Decode: %v", env, err)
		}
	}
}

// A secret key's value set by a variable (SPRING_RABBITMQ_PASSWORD,
// MYAPP_DB_PASSWORD) is the secret itself: a problem with its
// placeholders showed them ("placeholder "${:Kq9zSecret}" names no
// variable").
func TestSecretKeyEnvValuePlaceholderProblemHidden(t *testing.T) {
	for _, c := range []struct {
		data, env, path string
	}{
		{"a: 1\n", "SPRING_RABBITMQ_PASSWORD=p${:Kq9zSecret}w", "spring.rabbitmq.password"},
		{"spring.rabbitmq.password: x\n", "SPRING_RABBITMQ_PASSWORD=p${Kq9zSecret}w", "spring.rabbitmq.password"},
		{"myapp.db-password: x\n", "MYAPP_DB_PASSWORD=p${Kq9zSecret}w", "myapp.db-password"},
	} {
		es := configErrors(t, Options{Data: []byte(c.data), Env: []string{c.env}})
		name, _, _ := strings.Cut(c.env, "=")
		if len(es) != 1 || es[0].Path != c.path || strings.Contains(es[0].Error(), "Kq9z") ||
			es[0].Msg != "the value of environment variable "+name+" (a secret, not shown) has a placeholder that cannot be resolved" {
			t.Errorf("%s: %v", c.env, es)
		}
	}
}
