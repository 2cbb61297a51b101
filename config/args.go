package config

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/streambind/streambind/stream"
)

// OriginArgs is the origin of the keys the command line sets
// ([Options.Args]).
const OriginArgs = "command line"

// argsEnvKey is where Load keeps the command line's options (Options.Args,
// parsed, as JSON) beside the environment, so that the profile and
// location settings read from every source above the files find them as
// they find SPRING_APPLICATION_JSON. No variable can be so named (NUL).
const argsEnvKey = "\x00streambind command-line args"

// argOption is one --name=value of the command line: its name, its
// values (none for --name alone) and its position (1-based) of the first.
type argOption struct {
	Name   string   `json:"n"`
	Values []string `json:"v"`
	Pos    int      `json:"p"`
}

// parseArgs reads the command line as Spring's
// SimpleCommandLineArgsParser does: an argument starting with "--" is an
// option, --name=value (the value may be empty and hold '='), or --name
// alone; any other argument is not an option and is ignored here (the
// program's own). An option given twice has both values, joined with ','
// as SimpleCommandLinePropertySource gives them (--name alone adds none:
// its value is ""). "--" alone ends the options: what follows is not
// read, as Spring Framework 6.1 reads it (gh-21949). "--=x" (no name) is
// an error, as in Spring ("Invalid argument syntax"), which does not
// repeat the argument: its value may be a secret.
func parseArgs(args []string) ([]argOption, []*stream.ConfigError) {
	var out []argOption
	var errs []*stream.ConfigError
	at := map[string]int{}
	for i, a := range args {
		text, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		if text == "" {
			break
		}
		name, value, hasValue := strings.Cut(text, "=")
		if name == "" {
			errs = append(errs, &stream.ConfigError{Origin: OriginArgs, Msg: fmt.Sprintf("invalid argument syntax: argument %d is --=value, an option without a name (an option is --name=value or --name, as for Spring Boot)", i+1)})
			continue
		}
		j, seen := at[name]
		if !seen {
			j = len(out)
			at[name] = j
			out = append(out, argOption{Name: name, Pos: i + 1})
		}
		if hasValue {
			out[j].Values = append(out[j].Values, value)
		}
	}
	return out, errs
}

// argsDoc returns the tree of the command line's options kept in env
// (argsEnvKey), as a .properties file's ("line" i: the i-th argument),
// or nil when there are none. A key that conflicts with another (a value
// and keys inside it, a list with a gap) is an error.
func argsDoc(env map[string]string) (*ynode, error) {
	s, ok := env[argsEnvKey]
	if !ok {
		return nil, nil
	}
	var opts []argOption
	if err := json.Unmarshal([]byte(s), &opts); err != nil {
		return nil, err // not reached: Load encodes it
	}
	b := newPropsBuilder(OriginArgs)
	for _, o := range opts {
		if err := b.add(o.Name, strings.Join(o.Values, ","), o.Pos); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

// keepArgs parses args into env (argsEnvKey); it returns the problems.
func keepArgs(env map[string]string, args []string) []*stream.ConfigError {
	opts, errs := parseArgs(args)
	if len(opts) == 0 {
		return errs
	}
	data, err := json.Marshal(opts)
	if err != nil {
		return append(errs, &stream.ConfigError{Origin: OriginArgs, Msg: err.Error()})
	}
	env[argsEnvKey] = string(data)
	return errs
}

// argsLayer returns the layer of the command line's options, or nil when
// there are none.
func argsLayer(env map[string]string, root *schema) (*layer, []*stream.ConfigError) {
	doc, err := argsDoc(env)
	if err != nil {
		p := fileProblem(err)
		p.Origin = OriginArgs
		return nil, []*stream.ConfigError{p}
	}
	if doc == nil {
		return nil, nil
	}
	l := newLayer(OriginArgs)
	l.origin = OriginArgs
	l.mapping(doc, root, nil)
	writtenNames(doc, l.written)
	return l, l.errs
}

// argsProfileKeys returns the profile keys the command line sets
// (--spring.profiles.active, include, default, group.<name>), as
// appJSONProfileKeys does SPRING_APPLICATION_JSON's; Spring Boot ranks
// the command line above that variable.
func argsProfileKeys(env map[string]string) (*document, []*stream.ConfigError) {
	doc, err := argsDoc(env)
	if err != nil || doc == nil {
		return nil, nil // argsLayer reports it
	}
	return profileKeysOf(doc, OriginArgs, OriginArgs)
}

// argsList is appJSONList for the command line: the items the option of
// key path gives (one value, a comma list; or --a[0]=x --a[1]=y).
func argsList(env map[string]string, path []string) (list []string, lines []int, found, ok bool) {
	doc, err := argsDoc(env)
	if err != nil || doc == nil {
		return nil, nil, false, false
	}
	val, _, found := findKey(doc, path)
	if !found {
		return nil, nil, false, false
	}
	list, lines, ok = stringListLines(val, 0)
	return list, lines, true, ok
}
