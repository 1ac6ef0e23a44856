package intake

import (
	"errors"
	"testing"
	"time"
)

func testRules(t testing.TB) *Rules {
	t.Helper()
	r, err := NewRules(RulesConfig{
		DefaultLanguage: English,
		DefaultCategory: "general",
		DefaultGroup:    "service-desk",
		DefaultImpact:   Medium,
		DefaultUrgency:  Medium,
		Categories: []Category{
			{Name: "email", Keywords: []string{"email", "mail", "correo", "outlook"}, Group: "messaging"},
			{Name: "network", Keywords: []string{"vpn", "wifi", "red", "network", "internet"}, Group: "networks"},
			{Name: "hardware", Keywords: []string{"printer", "impresora", "laptop", "portátil"}},
		},
		CIs: []ConfigItem{
			{Name: "vpn-gateway", Aliases: []string{"vpn", "forticlient"}},
			{Name: "exchange", Aliases: []string{"outlook", "correo", "email"}},
		},
		ImpactKeywords: map[Level][]string{
			High: {"everyone", "todos", "todo el mundo", "caído"},
			Low:  {"only me", "solo a mí"},
		},
		UrgencyKeywords: map[Level][]string{
			High: {"urgent", "urgente", "down", "caído"},
			Low:  {"when you can", "cuando puedas"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegisterClassifies(t *testing.T) {
	r := testRules(t)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name                string
		rep                 Report
		category, group, ci string
		impact, urgency     Level
		priority            Priority
		lang                Lang
	}{
		{"english mail problem", Report{Channel: ChannelEmail, Subject: "Outlook will not open", Description: "Since this morning my email is stuck."},
			"email", "messaging", "exchange", Medium, Medium, "P3", English},
		{"spanish accents folded", Report{Channel: ChannelEmail, Subject: "El CORREO está CAIDO para todos", Description: "No funciona desde esta mañana"},
			"email", "messaging", "exchange", High, High, "P1", Spanish},
		{"accent in text, none in keyword", Report{Channel: ChannelSlack, Description: "la vpn está caída? no, el servidor está caído, urgente"},
			"network", "networks", "vpn-gateway", High, High, "P1", Spanish},
		{"earliest CI wins", Report{Channel: ChannelWeb, Description: "The VPN drops whenever I open Outlook"},
			"email", "messaging", "vpn-gateway", Medium, Medium, "P3", English},
		{"no keyword: defaults", Report{Channel: ChannelPhone, Subject: "Something odd", Description: "It behaves strangely"},
			"general", "service-desk", "", Medium, Medium, "P3", English},
		{"low urgency and impact", Report{Channel: ChannelEmail, Description: "The printer jams, only me, look at it when you can"},
			"hardware", "service-desk", "", Low, Low, "P5", English},
		{"whole words only", Report{Channel: ChannelEmail, Description: "I got a redirect from the website"},
			"general", "service-desk", "", Medium, Medium, "P3", English},
		{"explicit values win", Report{Channel: ChannelPhone, Description: "urgent: everyone lost the vpn", Category: "hardware", CI: "laptop-42", Impact: Low, Urgency: Low, Group: "field"},
			"hardware", "field", "laptop-42", Low, Low, "P5", English},
		{"explicit language wins", Report{Channel: ChannelSlack, Reporter: Reporter{Language: Spanish}, Description: "the printer is broken"},
			"hardware", "service-desk", "", Medium, Medium, "P3", Spanish},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc, err := r.Register(c.rep, now)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{inc.Category, inc.Group, inc.CI, string(inc.Impact), string(inc.Urgency), string(inc.Priority), string(inc.Reporter.Language)}
			want := []string{c.category, c.group, c.ci, string(c.impact), string(c.urgency), string(c.priority), string(c.lang)}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("category, group, ci, impact, urgency, priority, lang = %q, want %q", got, want)
				}
			}
			if !inc.RegisteredAt.Equal(now) || !inc.ReportedAt.Equal(now) || inc.Level != 1 {
				t.Fatalf("timestamps/level not set: %+v", inc)
			}
		})
	}
}

func TestRegisterSubjectFromDescription(t *testing.T) {
	inc, err := testRules(t).Register(Report{Channel: ChannelSlack, Description: "  no me funciona el correo desde esta mañana\nya reinicié"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if inc.Subject != "no me funciona el correo desde esta mañana" {
		t.Fatalf("subject = %q", inc.Subject)
	}
}

func TestRegisterRejectsBadReports(t *testing.T) {
	r := testRules(t)
	for name, rep := range map[string]Report{
		"empty":            {Channel: ChannelEmail},
		"unknown channel":  {Channel: "fax", Description: "x"},
		"bad impact":       {Channel: ChannelPhone, Description: "x", Impact: "huge"},
		"unknown category": {Channel: ChannelPhone, Description: "x", Category: "nope"},
		"bad language":     {Channel: ChannelPhone, Description: "x", Reporter: Reporter{Language: "fr"}},
		"not an email":     {Channel: ChannelPhone, Description: "x", Reporter: Reporter{Email: "not an email"}},
		"email with name":  {Channel: ChannelPhone, Description: "x", Reporter: Reporter{Email: "Ana <ana@example.test>"}},
	} {
		if _, err := r.Register(rep, time.Now()); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestDefaultMatrixIsITIL(t *testing.T) {
	m := DefaultMatrix()
	want := map[[2]Level]Priority{
		{High, High}: "P1", {High, Medium}: "P2", {High, Low}: "P3",
		{Medium, High}: "P2", {Medium, Medium}: "P3", {Medium, Low}: "P4",
		{Low, High}: "P3", {Low, Medium}: "P4", {Low, Low}: "P5",
	}
	for k, p := range want {
		if got := m[k[0]][k[1]]; got != p {
			t.Errorf("impact %s urgency %s = %s, want %s", k[0], k[1], got, p)
		}
	}
}

func TestNewRulesRejectsIncompleteMatrix(t *testing.T) {
	_, err := NewRules(RulesConfig{DefaultLanguage: English, DefaultCategory: "g", DefaultImpact: Low, DefaultUrgency: Low,
		Matrix: Matrix{High: {High: "P1"}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

func TestDetectLanguage(t *testing.T) {
	cases := map[string]Lang{
		"No me funciona el correo desde esta mañana":  Spanish,
		"¿Pueden ayudarme? La impresora no imprime":   Spanish,
		"My laptop does not start since this morning": English,
		"Please help, the VPN is down":                English,
		"VPN":                                         Lang("xx"),
	}
	for text, want := range cases {
		if got := DetectLanguage(text, "xx"); got != want {
			t.Errorf("DetectLanguage(%q) = %s, want %s", text, got, want)
		}
	}
}

func TestIDs(t *testing.T) {
	if got := FormatID(123); got != "INC-000123" {
		t.Fatalf("FormatID = %s", got)
	}
	if got := FormatID(1234567); got != "INC-1234567" {
		t.Fatalf("FormatID = %s", got)
	}
	if n, err := ParseID("INC-000123"); err != nil || n != 123 {
		t.Fatalf("ParseID = %d, %v", n, err)
	}
	for _, bad := range []string{"", "INC-123", "INC-0000000123", "inc-000123", "INC-00012a", "INC-000000", "INC--00012", "../INC-000001"} {
		if _, err := ParseID(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseID(%q) err = %v", bad, err)
		}
	}
}

func TestGroupsAreChecked(t *testing.T) {
	base := RulesConfig{DefaultLanguage: English, DefaultCategory: "g", DefaultImpact: Low, DefaultUrgency: Low,
		Groups: []string{"desk", "net"}, DefaultGroup: "desk"}
	r, err := NewRules(base)
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasGroup("net") || r.HasGroup("nope") {
		t.Fatal("HasGroup does not follow the configured groups")
	}
	if _, err := r.Register(Report{Channel: ChannelPhone, Description: "x", Group: "nope"}, time.Now()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown group accepted: %v", err)
	}
	bad := base
	bad.DefaultGroup = "nope"
	if _, err := NewRules(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown default group accepted: %v", err)
	}
	bad = base
	bad.Categories = []Category{{Name: "c", Group: "nope"}}
	if _, err := NewRules(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("category with unknown group accepted: %v", err)
	}
}

func TestOneLineFieldsLoseControlCharacters(t *testing.T) {
	inc, err := testRules(t).Register(Report{Channel: ChannelPhone, Subject: "VPN\r\nBcc: evil@example.test\tdown",
		Reporter: Reporter{Name: "Ana\nPérez"}, Description: "line one\nline two"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if inc.Subject != "VPN Bcc: evil@example.test down" || inc.Reporter.Name != "Ana Pérez" || inc.Description != "line one\nline two" {
		t.Fatalf("subject %q name %q description %q", inc.Subject, inc.Reporter.Name, inc.Description)
	}
}

func TestMatrixLevelsAreChecked(t *testing.T) {
	m := DefaultMatrix()
	m["huge"] = map[Level]Priority{High: "P1"}
	_, err := NewRules(RulesConfig{DefaultLanguage: English, DefaultCategory: "g", DefaultImpact: Low, DefaultUrgency: Low, Matrix: m})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown level accepted: %v", err)
	}
}

func TestLabelsFollowTheReportersLanguage(t *testing.T) {
	r, err := NewRules(RulesConfig{DefaultLanguage: English, DefaultCategory: "general", DefaultImpact: Low, DefaultUrgency: Low,
		DefaultCategoryLabels: map[Lang]string{Spanish: "General"},
		Categories:            []Category{{Name: "email", Labels: map[Lang]string{English: "E-mail", Spanish: "Correo"}}},
		CIs:                   []ConfigItem{{Name: "vpn-gw", Labels: map[Lang]string{Spanish: "VPN corporativa"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		lang Lang
		want string
	}{{"email", Spanish, "Correo"}, {"email", English, "E-mail"}, {"vpn-gw", Spanish, "VPN corporativa"}, {"vpn-gw", English, "vpn-gw"},
		{"general", Spanish, "General"}, {"unknown", Spanish, "unknown"}} {
		if got := r.Label(c.name, c.lang); got != c.want {
			t.Errorf("Label(%s, %s) = %q, want %q", c.name, c.lang, got, c.want)
		}
	}
}

func TestClipKeepsWholeCharacters(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"mañana", 3, "ma"}, {"mañana", 4, "mañ"}, {"abc", 5, "abc"}, {"ñ", 1, ""}} {
		if got := Clip(c.in, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
