package senderauth

import (
	"errors"
	"strings"
	"testing"
)

// Real-world headers (addresses and signatures changed), as the big
// providers and the common milters write them.
var (
	gmailAR = `mx.google.com;
       dkim=pass header.i=@example.com header.s=20230601 header.b=kTq3/B+e;
       spf=pass (google.com: domain of ana@example.com designates 209.85.220.41 as permitted sender) smtp.mailfrom=ana@example.com;
       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com`
	microsoftAR = `spf=pass (sender IP is 40.107.22.95)
 smtp.mailfrom=contoso.com; dkim=pass (signature was verified)
 header.d=contoso.com;dmarc=pass action=none
 header.from=contoso.com;compauth=pass reason=100`
	opendmarcAR = `mx.example.org; dmarc=fail (p=reject dis=none) header.from=example.com`
	opendkimAR  = `mx.example.org 1; dkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=mail header.b="AbCd+/e="`
	noneAR      = `mx.example.org; none`
)

func TestParseResults(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        Results
	}{
		{"gmail", gmailAR, Results{AuthServID: "mx.google.com", Methods: []Method{
			{Name: "dkim", Result: "pass", Props: map[string]string{"header.i": "@example.com", "header.s": "20230601", "header.b": "kTq3/B+e"}},
			{Name: "spf", Result: "pass", Props: map[string]string{"smtp.mailfrom": "ana@example.com"}},
			{Name: "dmarc", Result: "pass", Props: map[string]string{"header.from": "example.com"}},
		}}},
		{"opendkim with version and quoted value", opendkimAR, Results{AuthServID: "mx.example.org", Version: "1", Methods: []Method{
			{Name: "dkim", Result: "pass", Props: map[string]string{"header.d": "example.com", "header.i": "@example.com", "header.a": "rsa-sha256", "header.s": "mail", "header.b": "AbCd+/e="}},
		}}},
		{"none", noneAR, Results{AuthServID: "mx.example.org"}},
		{"quoted authserv-id, comments, method version, reason", `"mx.example.org" (our MX); dkim/1 (comment (nested)) = pass reason="good sig" header.d=Example.COM;`,
			Results{AuthServID: "mx.example.org", Methods: []Method{{Name: "dkim", Version: "1", Result: "pass", Reason: "good sig", Props: map[string]string{"header.d": "Example.COM"}}}}},
		{"spaced method version", `mx; dkim / 1 = pass`, Results{AuthServID: "mx", Methods: []Method{{Name: "dkim", Version: "1", Result: "pass", Props: map[string]string{}}}}},
		{"repeated property: the first wins", `mx; dmarc=pass header.from=a.test header.from=b.test`,
			Results{AuthServID: "mx", Methods: []Method{{Name: "dmarc", Result: "pass", Props: map[string]string{"header.from": "a.test"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResults(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if got.AuthServID != tc.want.AuthServID || got.Version != tc.want.Version || len(got.Methods) != len(tc.want.Methods) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			for i, m := range got.Methods {
				w := tc.want.Methods[i]
				if m.Name != w.Name || m.Version != w.Version || m.Result != w.Result || m.Reason != w.Reason || len(m.Props) != len(w.Props) {
					t.Errorf("method %d = %+v, want %+v", i, m, w)
				}
				for k, v := range w.Props {
					if m.Props[k] != v {
						t.Errorf("method %d %s = %q, want %q", i, k, m.Props[k], v)
					}
				}
			}
		})
	}
}

func TestParseResultsRefusesMalformed(t *testing.T) {
	for name, value := range map[string]string{
		"empty":                    "",
		"only a comment":           "(nothing)",
		"unclosed comment":         "mx; dkim=pass (oops",
		"stray close":              "mx; dkim=pass )",
		"unclosed quote":           `mx; dkim=pass header.d="example.com`,
		"no result":                "mx; dkim",
		"no result after =":        "mx; dkim=",
		"property without a value": "mx; dkim=pass header.d=",
		"property without =":       "mx; dkim=pass header.d",
		"no separator":             "mx dkim=pass",
		"text after none":          "mx; none dkim=pass",
		"method is =":              "mx; =pass",
		"empty method version":     "mx; dkim/=pass",
		"huge":                     "mx" + strings.Repeat("; a=b", 1000),
		// Microsoft 365 writes no authserv-id: it cannot be trusted (use
		// verify_dkim there).
		"no authserv-id (Microsoft 365)": microsoftAR,
	} {
		if r, err := ParseResults(value); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v, %v; want ErrMalformed", name, r, err)
		}
	}
}

// FuzzParseResults checks that no input panics or hangs, and that what
// parses has an authserv-id and, for each result, a method and a result.
func FuzzParseResults(f *testing.F) {
	for _, s := range []string{gmailAR, microsoftAR, opendmarcAR, opendkimAR, noneAR,
		`mx; dkim/1=pass header.b="a\"b"`, "mx; dkim=pass (a (b) c) header.d=x", "(", `"`, ";;;", "mx;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseResults(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if r.AuthServID == "" {
			t.Fatalf("%q parsed without an authserv-id", s)
		}
		for _, m := range r.Methods {
			if m.Name == "" || m.Result == "" || m.Props == nil {
				t.Fatalf("%q: incomplete result %+v", s, m)
			}
		}
	})
}
