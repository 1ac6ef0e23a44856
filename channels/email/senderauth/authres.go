package senderauth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is returned (wrapped) for an Authentication-Results value
// that does not follow RFC 8601.
var ErrMalformed = errors.New("malformed Authentication-Results")

// Results is one Authentication-Results header field (RFC 8601).
type Results struct {
	// AuthServID names the server that added the field, as written.
	AuthServID string
	// Version is the optional authres-version ("" when absent).
	Version string
	// Methods are the results, in order; empty for "none".
	Methods []Method
}

// Method is one resinfo: "dkim=pass reason=... header.d=example.com".
type Method struct {
	Name    string // lower case: dkim, spf, dmarc, arc, ...
	Version string // the optional "/1" after the method
	Result  string // lower case: pass, fail, none, ...
	Reason  string
	// Props are the properties, "ptype.property" lower-cased to value
	// (e.g. "header.d" -> "example.com"); the first of a repeated one wins.
	// Words that are neither (Microsoft's "action=none") keep their name.
	Props map[string]string
}

// Prop returns a property by its lower-case name, "" when absent.
func (m Method) Prop(name string) string { return m.Props[name] }

// ParseResults parses the value of one Authentication-Results header field.
// It is strict where the answer matters (every result must have a method, a
// result and well-formed properties), and lenient where servers differ in
// practice (comments anywhere, quoted values, properties outside the
// registry).
func ParseResults(value string) (Results, error) {
	toks, err := lex(value)
	if err != nil {
		return Results{}, err
	}
	p := &parser{toks: toks}
	var r Results
	id, ok := p.value()
	if !ok || id == "" {
		return Results{}, fmt.Errorf("%w: no authserv-id", ErrMalformed)
	}
	r.AuthServID = id
	if t, ok := p.peek(); ok && t.kind == tokWord && isDigits(t.text) {
		r.Version = t.text
		p.next()
	}
	for {
		t, ok := p.next()
		if !ok {
			return r, nil
		}
		if t.kind != tokSemi {
			return Results{}, fmt.Errorf("%w: %q where \";\" was expected", ErrMalformed, t.text)
		}
		if t, ok := p.peek(); !ok {
			return r, nil // a trailing ";" is common enough to forgive
		} else if t.kind == tokWord && strings.EqualFold(t.text, "none") && len(r.Methods) == 0 {
			p.next()
			if _, more := p.peek(); more {
				return Results{}, fmt.Errorf("%w: text after \"none\"", ErrMalformed)
			}
			return r, nil
		}
		m, err := p.method()
		if err != nil {
			return Results{}, err
		}
		r.Methods = append(r.Methods, m)
	}
}

func (p *parser) method() (Method, error) {
	name, ok := p.word()
	if !ok {
		return Method{}, fmt.Errorf("%w: a result without a method", ErrMalformed)
	}
	// "/" may not appear in an RFC 2045 token, but servers put base64
	// (header.b=ab/c+d) in values, so the lexer keeps it inside words and
	// the method version ("dkim/1", "dkim / 1") is split off here.
	name, version, slash := strings.Cut(name, "/")
	if t, ok := p.peek(); ok && !slash && t.kind == tokWord && strings.HasPrefix(t.text, "/") {
		p.next()
		version, slash = t.text[1:], true
	}
	if slash && version == "" {
		if version, ok = p.word(); !ok {
			return Method{}, fmt.Errorf("%w: %s/ without a version", ErrMalformed, name)
		}
	}
	if name == "" || strings.Contains(version, "/") {
		return Method{}, fmt.Errorf("%w: bad method %q", ErrMalformed, name+"/"+version)
	}
	m := Method{Name: strings.ToLower(name), Version: version, Props: map[string]string{}}
	if t, ok := p.next(); !ok || t.kind != tokEq {
		return Method{}, fmt.Errorf("%w: method %s without \"=result\"", ErrMalformed, name)
	}
	result, ok := p.word()
	if !ok {
		return Method{}, fmt.Errorf("%w: method %s without a result", ErrMalformed, name)
	}
	m.Result = strings.ToLower(result)
	for {
		t, ok := p.peek()
		if !ok || t.kind == tokSemi {
			return m, nil
		}
		key, ok := p.word()
		if !ok {
			return Method{}, fmt.Errorf("%w: %q in the properties of %s", ErrMalformed, t.text, name)
		}
		if t, ok := p.next(); !ok || t.kind != tokEq {
			return Method{}, fmt.Errorf("%w: property %q of %s without a value", ErrMalformed, key, name)
		}
		val, ok := p.value()
		if !ok {
			return Method{}, fmt.Errorf("%w: property %q of %s without a value", ErrMalformed, key, name)
		}
		// Base64 in a value may end in "=" padding.
		for t, ok := p.peek(); ok && t.kind == tokEq; t, ok = p.peek() {
			p.next()
			val += "="
		}
		key = strings.ToLower(key)
		if key == "reason" {
			m.Reason = val
			continue
		}
		if _, dup := m.Props[key]; !dup {
			m.Props[key] = val
		}
	}
}

type tokKind int

const (
	tokWord tokKind = iota
	tokQuoted
	tokSemi
	tokEq
)

type token struct {
	kind tokKind
	text string
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() (token, bool) {
	if p.i >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.i], true
}

func (p *parser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.i++
	}
	return t, ok
}

// word takes a bare word.
func (p *parser) word() (string, bool) {
	if t, ok := p.peek(); ok && t.kind == tokWord {
		p.i++
		return t.text, true
	}
	return "", false
}

// value takes a bare word or a quoted string.
func (p *parser) value() (string, bool) {
	if t, ok := p.peek(); ok && (t.kind == tokWord || t.kind == tokQuoted) {
		p.i++
		return t.text, true
	}
	return "", false
}

// maxTokens bounds the work one header can cause; real ones have a few
// dozen.
const maxTokens = 1000

// lex splits a value into words, quoted strings and the separators ";"
// and "=", dropping white space and (nested) comments. A word runs to
// the next separator, space, quote or parenthesis, so "header.d" and
// "user@example.com" are single words.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		if len(toks) > maxTokens {
			return nil, fmt.Errorf("%w: more than %d tokens", ErrMalformed, maxTokens)
		}
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if depth != 0 {
				return nil, fmt.Errorf("%w: unclosed comment", ErrMalformed)
			}
			i++
		case c == ')':
			return nil, fmt.Errorf("%w: \")\" without \"(\"", ErrMalformed)
		case c == '"':
			var b strings.Builder
			i++
			closed := false
			for ; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if s[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf("%w: unclosed quoted string", ErrMalformed)
			}
			toks = append(toks, token{tokQuoted, b.String()})
		case c == ';':
			toks = append(toks, token{tokSemi, ";"})
			i++
		case c == '=':
			toks = append(toks, token{tokEq, "="})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()\";=", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		}
	}
	return toks, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
