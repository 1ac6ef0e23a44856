package portal

import (
	"net/http"
	"strings"

	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
)

// service is one choice of the affected-service list.
type service struct{ Name, Label string }

type newView struct {
	Services []service
	Nonce    string
	// Form keeps what was typed when the report was refused.
	Form map[string]string
}

// The plain-word choices of the report form and the levels they mean:
// who is affected is the impact, how much it hinders is the urgency.
var (
	whoLevel  = map[string]intake.Level{"me": intake.Low, "team": intake.Medium, "everyone": intake.High}
	whenLevel = map[string]intake.Level{"wait": intake.Low, "slow": intake.Medium, "blocks": intake.High}
)

func (s *Server) newPage(w http.ResponseWriter, r *http.Request, m me) {
	s.showNew(w, r, m, http.StatusOK, "", map[string]string{"who": "me", "when": "slow"})
}

func (s *Server) showNew(w http.ResponseWriter, r *http.Request, m me, status int, errKey string, form map[string]string) {
	nonce, err := webui.RandomToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := newView{Nonce: nonce, Form: form}
	for _, name := range s.d.Services {
		label := name
		if s.d.Labels != nil {
			label = s.d.Labels.Label(name, intake.Lang(m.lang))
		}
		v.Services = append(v.Services, service{Name: name, Label: label})
	}
	page := s.view(r, m, "new", v)
	if errKey != "" {
		page.Error = s.d.Pages.Word(m.lang, errKey)
	}
	s.render(w, status, "new", page)
}

// report registers the form as an incident of channel portal, through the
// same registration, classification and acknowledgment as every channel;
// the form's nonce is the report's key, so a double submit registers once.
func (s *Server) report(w http.ResponseWriter, r *http.Request, m me) {
	f := r.PostForm
	form := map[string]string{}
	for _, k := range []string{"subject", "description", "service", "who", "when"} {
		form[k] = strings.TrimSpace(f.Get(k))
	}
	impact, ok1 := whoLevel[form["who"]]
	urgency, ok2 := whenLevel[form["when"]]
	if !ok1 || !ok2 || (form["service"] != "" && !s.knownService(form["service"])) {
		s.showNew(w, r, m, http.StatusBadRequest, "error.invalid", form)
		return
	}
	if form["subject"] == "" {
		s.showNew(w, r, m, http.StatusBadRequest, "error.subject", form)
		return
	}
	var atts []intake.Attachment
	if file, hdr, err := r.FormFile("file"); err == nil {
		file.Close()
		if hdr.Filename != "" {
			att, bad := s.readFile(r)
			if bad != "" {
				s.showNew(w, r, m, fileStatus(bad), bad, form)
				return
			}
			atts = append(atts, att)
		}
	}
	name := m.Email
	lang := intake.Lang(m.lang)
	if page, err := s.d.Lister.List(r.Context(), intake.ListFilter{Reporter: m.Email, Limit: 1}); err == nil && len(page.Incidents) > 0 {
		if n := page.Incidents[0].Reporter.Name; n != "" {
			name = n
		}
	}
	rep := intake.Report{Channel: intake.ChannelPortal, Subject: form["subject"], Description: form["description"],
		Reporter: intake.Reporter{Name: name, Email: m.Email, Language: lang}, ReportedAt: s.d.Now().UTC(),
		CI: form["service"], Impact: impact, Urgency: urgency}
	if n := f.Get("nonce"); n != "" && len(n) <= 100 {
		rep.Key = "portal:" + m.Email + ":" + n
	}
	inc, err := s.d.Engine.Register(r.Context(), rep)
	if err != nil {
		if isInvalid(err) {
			s.showNew(w, r, m, http.StatusBadRequest, "error.invalid", form)
			return
		}
		s.fail(w, r, err)
		return
	}
	if len(atts) > 0 {
		if err := s.d.Files.AddAttachments(r.Context(), inc.ID, "portal:report", atts); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.d.Log.Info("incident reported on the portal", "incident", inc.ID)
	http.Redirect(w, r, "/portal/incidents/"+inc.ID+query("done", "reported"), http.StatusSeeOther)
}

func (s *Server) knownService(name string) bool {
	for _, n := range s.d.Services {
		if n == name {
			return true
		}
	}
	return false
}
