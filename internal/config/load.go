package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaults []byte

// Default returns the embedded default configuration file, comments and all.
func Default() []byte { return bytes.Clone(defaults) }

// Env is the process environment as the configuration reads it.
type Env map[string]string

// Environ turns os.Environ's "NAME=value" list into an Env.
func Environ(kv []string) Env {
	env := Env{}
	for _, s := range kv {
		if k, v, ok := strings.Cut(s, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Lookup returns a variable's value and whether it is set.
func (e Env) Lookup(name string) (string, bool) { v, ok := e[name]; return v, ok }

// EnvPrefix starts every configuration variable.
const EnvPrefix = "INTAKEBOT"

// Variables that start with EnvPrefix but are no configuration key: the
// agent CLI's and the test suites'. They draw no warning.
var (
	otherVars     = []string{"INTAKEBOT_URL", "INTAKEBOT_TOKEN"}
	otherPrefixes = []string{"INTAKEBOT_TEST_", "INTAKEBOT_E2E_", "INTAKEBOT_BENCH_"}
)

// Problem is one thing wrong with the configuration, about one key.
type Problem struct {
	Key string // the key's path (redis.url) or a variable's name
	Msg string
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Problems is every problem found; as an error it lists them one a line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads the embedded defaults, then the file (if any), then the
// INTAKEBOT_* environment. A list in the file or a variable replaces the
// default list; maps merge by key. The error is Problems when the file or
// a variable is wrong (every mistake is listed, not only the first);
// warnings are variables that match no key. Load does not Validate.
func Load(path string, env Env) (*Config, Problems, error) {
	var c Config
	if err := decode("", defaults, &c); err != nil {
		return nil, nil, fmt.Errorf("embedded defaults: %w", err)
	}
	var probs Problems
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		if err := decode(path, raw, &c); err != nil {
			var ps Problems
			if !errors.As(err, &ps) {
				return nil, nil, err
			}
			probs = append(probs, ps...)
		}
	}
	probs = append(probs, applyEnv(reflect.ValueOf(&c).Elem(), EnvPrefix, "", env)...)
	c.Notify.readEnvSecrets(env)
	warnings := unknownVars(env)
	if len(probs) > 0 {
		return nil, warnings, probs
	}
	return &c, warnings, nil
}

// decode checks raw against the shape of v (unknown keys, wrong types,
// each named by its path) and only then decodes it into v.
func decode(file string, raw []byte, v any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return Problems{{Key: file, Msg: "not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file changes nothing
	}
	var probs Problems
	check(doc.Content[0], reflect.TypeOf(v).Elem(), "", &probs)
	if len(probs) > 0 {
		return probs
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return Problems{{Key: file, Msg: err.Error()}}
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[Duration]()
)

// check walks a YAML node beside the Go type it will be decoded into, and
// notes every key that type does not have and every value of the wrong kind.
func check(n *yaml.Node, t reflect.Type, path string, probs *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return // leaves the default as it is
	}
	wrong := func() {
		got := n.Value
		switch n.Kind {
		case yaml.MappingNode:
			got = "a mapping"
		case yaml.SequenceNode:
			got = "a list"
		default:
			got = fmt.Sprintf("%q", got)
		}
		*probs = append(*probs, Problem{Key: path, Msg: fmt.Sprintf("expected %s, got %s (line %d)", expected(t), got, n.Line)})
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if n.Kind != yaml.ScalarNode || n.Decode(reflect.New(t).Interface()) != nil {
			wrong()
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			wrong()
			return
		}
		fields := fieldsOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			f, ok := fields[key]
			if !ok {
				*probs = append(*probs, unknownKey(join(path, key), t))
				continue
			}
			check(val, f, join(path, key), probs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			wrong()
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), probs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			wrong()
			return
		}
		for i, item := range n.Content {
			check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
	default:
		if n.Kind != yaml.ScalarNode || n.Decode(reflect.New(t).Interface()) != nil {
			wrong()
		}
	}
}

// expected says in words what a value of type t looks like.
func expected(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 30s, 5m or 24h"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping (key: value)"
	case reflect.Slice:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	}
	return t.String()
}

// fieldsOf maps a struct's YAML keys to their types, inline fields included.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			maps := fieldsOf(f.Type)
			for k, v := range maps {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownKey names the key and the nearest one that exists: first among
// its siblings, then anywhere (a key put in the wrong section).
func unknownKey(path string, parent reflect.Type) Problem {
	p := Problem{Key: path, Msg: "unknown key"}
	parentPath, key := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parentPath, key = path[:i], path[i+1:]
	}
	var siblings []string
	for k := range fieldsOf(parent) {
		siblings = append(siblings, k)
	}
	if best, ok := nearest(key, siblings); ok {
		p.Msg += "; did you mean " + join(parentPath, best) + "?"
	} else if best, ok := nearest(path, KeyPaths()); ok {
		p.Msg += "; did you mean " + best + "?"
	}
	return p
}

// KeyPaths lists the path of every key of the configuration that holds a
// fixed set of keys (a section's own keys; not the entries of a map or a list).
func KeyPaths() []string {
	var out []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for k, ft := range fieldsOf(t) {
			p := join(path, k)
			out = append(out, p)
			if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType) {
				walk(ft, p)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	slices.Sort(out)
	return out
}

// varName is the environment variable of a key path: INTAKEBOT_REDIS_URL.
func varName(path string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// applyEnv walks the config struct: each field's variable is the parent's
// name plus the field's YAML key in capitals. Scalars take the value as is,
// lists, maps and whole sections parse it as YAML, and NAME_FILE reads the
// value from a file (a mounted secret).
func applyEnv(v reflect.Value, name, path string, env Env) Problems {
	var probs Problems
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		varName, keyPath := name+"_"+strings.ToUpper(key), join(path, key)
		field := v.Field(i)
		val, ok := env.Lookup(varName)
		if file, fok := env.Lookup(varName + "_FILE"); fok && !ok {
			raw, err := os.ReadFile(file)
			if err != nil {
				probs = append(probs, Problem{Key: varName + "_FILE", Msg: fmt.Sprintf("%v (the secret for %s)", err, keyPath)})
				continue
			}
			val, ok = strings.TrimSpace(string(raw)), true
		}
		if ok {
			probs = append(probs, setFromEnv(field, val, varName, keyPath)...)
		}
		if field.Kind() == reflect.Struct && !reflect.PointerTo(field.Type()).Implements(unmarshalerType) {
			// A whole section may come as YAML; its keys' own variables
			// still win.
			probs = append(probs, applyEnv(field, varName, keyPath, env)...)
		}
	}
	return probs
}

// setFromEnv sets one field from its variable's value.
func setFromEnv(field reflect.Value, val, varName, keyPath string) Problems {
	if field.Kind() == reflect.String {
		field.SetString(val)
		return nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(val), &n); err != nil {
		return Problems{{Key: varName, Msg: fmt.Sprintf("not YAML (for %s): %v", keyPath, err)}}
	}
	if len(n.Content) == 0 {
		return nil
	}
	var probs Problems
	check(n.Content[0], field.Type(), keyPath, &probs)
	for i := range probs {
		probs[i].Msg += " (from " + varName + ")"
	}
	if len(probs) > 0 {
		return probs
	}
	if field.Kind() == reflect.Struct {
		// Merge into the section, as the file does.
		if err := n.Content[0].Decode(field.Addr().Interface()); err != nil {
			return Problems{{Key: varName, Msg: err.Error()}}
		}
		return nil
	}
	fresh := reflect.New(field.Type())
	if err := n.Content[0].Decode(fresh.Interface()); err != nil {
		return Problems{{Key: varName, Msg: err.Error()}}
	}
	field.Set(fresh.Elem())
	return nil
}

// unknownVars warns about INTAKEBOT_* variables that match no key: a typo
// there would otherwise be ignored without a word.
func unknownVars(env Env) Problems {
	known := map[string]string{}
	for _, p := range KeyPaths() {
		known[varName(p)] = p
		known[varName(p)+"_FILE"] = p
	}
	names := make([]string, 0, len(known))
	for n := range known {
		if !strings.HasSuffix(n, "_FILE") {
			names = append(names, n)
		}
	}
	var warnings Problems
	for name := range env {
		if !strings.HasPrefix(name, EnvPrefix+"_") || known[name] != "" || slices.Contains(otherVars, name) ||
			slices.ContainsFunc(otherPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		msg := "matches no configuration key and is ignored"
		if best, ok := nearest(name, names); ok {
			msg += fmt.Sprintf("; did you mean %s (%s)?", best, known[best])
		}
		warnings = append(warnings, Problem{Key: name, Msg: msg})
	}
	slices.SortFunc(warnings, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return warnings
}

// nearest returns the candidate closest to s in edit distance, if one is
// close enough to be what was meant (at most a third of its length off).
func nearest(s string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := distance(strings.ToLower(s), strings.ToLower(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return "", false
	}
	return best, true
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
