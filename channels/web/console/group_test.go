package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An outage is one row in the queue, with its count; its reports show
// with "grouped=1"; the incident page lists the children and links the
// parent; agents group and ungroup with forms (CSRF checked), in English
// and Spanish; bad input is refused on the page.
func TestConsoleGroupsAndShowsOutagesAsOneRow(t *testing.T) {
	f := newFixture(t)
	p, c1, c2 := f.report("VPN down"), f.report("VPN down here too"), f.report("no VPN")
	c := f.client()
	c.login("alice", password)
	_, page := c.do("GET", "/console/incidents/"+p.ID, nil)
	form := url.Values{"csrf": {csrf(t, page)}, "op": {"group"}, "children": {strings.ToLower(c1.ID) + ", " + c2.ID}, "note": {"one outage"}}
	if resp, _ := c.do("POST", "/console/incidents/"+p.ID, url.Values{"op": {"group"}, "children": {c1.ID}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("group without CSRF: %d", resp.StatusCode)
	}
	if resp, body := c.do("POST", "/console/incidents/"+p.ID, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("group: %d\n%s", resp.StatusCode, body)
	}
	_, page = c.do("GET", "/console/incidents/"+p.ID, nil)
	if !strings.Contains(page, "Parent of 2 grouped reports") || !strings.Contains(page, `href="/console/incidents/`+c2.ID+`"`) {
		t.Fatalf("the parent's page does not list its children:\n%s", page)
	}
	_, queue := c.do("GET", "/console/", nil)
	if !strings.Contains(queue, p.ID) || strings.Contains(queue, c1.ID) || !strings.Contains(queue, "2 more reports") {
		t.Fatalf("the queue does not show the outage as one row with its count:\n%s", queue)
	}
	if _, all := c.do("GET", "/console/?grouped=1", nil); !strings.Contains(all, c1.ID) || !strings.Contains(all, `name="grouped" value="1" checked`) {
		t.Fatalf("grouped=1 does not show the grouped reports:\n%s", all)
	}
	_, page = c.do("GET", "/console/incidents/"+c1.ID, nil)
	if !strings.Contains(page, "Grouped under <a href=\"/console/incidents/"+p.ID+"\"") {
		t.Fatalf("the child's page does not link its parent:\n%s", page)
	}
	// A refusal is told on the page, what was typed kept.
	bad := url.Values{"csrf": {csrf(t, page)}, "op": {"group"}, "children": {"INC-999999"}}
	if resp, body := c.do("POST", "/console/incidents/"+p.ID, bad); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `value="INC-999999"`) {
		t.Fatalf("group with an unknown id: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := c.do("POST", "/console/incidents/"+c1.ID, url.Values{"csrf": {csrf(t, page)}, "op": {"ungroup"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ungroup: %d", resp.StatusCode)
	}
	if _, queue := c.do("GET", "/console/", nil); !strings.Contains(queue, c1.ID) || !strings.Contains(queue, "1 more report<") {
		t.Fatalf("after ungroup the queue:\n%s", queue)
	}
	// Spanish.
	c.do("GET", "/console/lang?to=es&back=/console/", nil)
	if _, queue := c.do("GET", "/console/", nil); !strings.Contains(queue, "1 aviso más<") || !strings.Contains(queue, "Mostrar avisos agrupados") {
		t.Fatalf("Spanish queue:\n%s", queue)
	}
	if _, page := c.do("GET", "/console/incidents/"+p.ID, nil); !strings.Contains(page, "Principal de 1 aviso agrupado:") || !strings.Contains(page, "Agrupar estas incidencias bajo esta") {
		t.Fatalf("Spanish incident page:\n%s", page)
	}
	if _, page := c.do("GET", "/console/incidents/"+c2.ID, nil); !strings.Contains(page, "Agrupada bajo") || !strings.Contains(page, "Desagrupar") {
		t.Fatalf("Spanish child page:\n%s", page)
	}
}
