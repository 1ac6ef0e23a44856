package web_test

import (
	"fmt"
	"net/url"
	"testing"
)

// listed is the ids a list request answers, in order.
func listed(a *api, query string) []string {
	var out []string
	for _, inc := range a.expect("alice", "GET", "/api/v1/incidents?"+query, "", 200)["incidents"].([]any) {
		out = append(out, inc.(map[string]any)["id"].(string))
	}
	return out
}

// ?q= searches subjects, descriptions and comments in English and Spanish,
// and combines with ?channel= and ?unassigned=, all from the indexes.
func TestListSearchesAndFiltersByChannelAndOwner(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	a.agent("bob", false)
	create := func(channel, subject, description string) string {
		return a.expect("alice", "POST", "/api/v1/incidents", fmt.Sprintf(`{"channel": %q, "subject": %q, "description": %q}`, channel, subject, description), 201)["id"].(string)
	}
	es := create("email", "La impresora no imprime", "Error de impresion: sale todo en blanco")
	en := create("phone", "Printer out of toner", "")
	vpn := create("phone", "VPN down", "Since the update")
	a.expect("alice", "POST", "/api/v1/incidents/"+vpn+"/assign", `{"owner": "bob"}`, 200)
	for _, c := range []struct{ query, want string }{
		{"q=" + url.QueryEscape("impresión"), fmt.Sprint([]string{es})}, // "impresion" in the text
		{"q=impresoras", fmt.Sprint([]string{es})},
		{"q=printers", fmt.Sprint([]string{en})},
		{"q=blanco", fmt.Sprint([]string{es})},
		{"channel=phone", fmt.Sprint([]string{vpn, en})},
		{"channel=phone&unassigned=true", fmt.Sprint([]string{en})},
		{"unassigned=true&q=vpn", "[]"},
		{"channel=email&q=printer", "[]"},
	} {
		if got := fmt.Sprint(listed(a, c.query)); got != c.want {
			t.Errorf("%s: %s, want %s", c.query, got, c.want)
		}
	}
	for _, bad := range []string{"channel=fax", "unassigned=yes", "q=" + url.QueryEscape(fmt.Sprintf("%0201d", 1)), "search=x"} {
		if out := a.expect("alice", "GET", "/api/v1/incidents?"+bad, "", 400); out["error"] == nil {
			t.Errorf("%s: %v, want an error", bad, out)
		}
	}
}
