package redisstore

import (
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// The queue's filter and search indexes (issue 12), kept at write time by
// the scripts that register, apply and archive, so that a filtered page or
// a search reads only index entries, never every incident. Each is a
// sorted set id -> incident number under the shard's hash tag, like
// idx:state:S, so one page's keys all sit in one slot:
//
//	P:{sNN}:idx:channel:C          incidents reported through channel C
//	P:{sNN}:idx:unowned            incidents no agent owns
//	P:{sNN}:idx:sla:warning        open incidents whose worst SLA status is warning
//	P:{sNN}:idx:sla:breached       open incidents with a missed SLA target
//	P:{sNN}:idx:term:T             incidents whose subject, description or a
//	                               comment holds search term T (kb.Terms)
//	P:{sNN}:idx:terms              every term of the shard (score 0, by name):
//	                               the last word of a search as a prefix
//	P:{sNN}:inc:INC-000123:terms   set: the incident's own terms, so a comment
//	                               adds only new ones and the archive knows
//	                               which indexes to leave

// maxIncidentTerms bounds the terms one incident adds to the index: a
// pasted log would otherwise add thousands, each a write on every later
// registration's path. Words past the bound are not searchable.
const maxIncidentTerms = 400

func channelIndex(shard string, c intake.Channel) string { return shard + ":idx:channel:" + string(c) }
func unownedIndex(shard string) string                   { return shard + ":idx:unowned" }
func slaIndex(shard, status string) string               { return shard + ":idx:sla:" + status }
func termIndex(shard, term string) string                { return shard + ":idx:term:" + term }
func termDictionary(shard string) string                 { return shard + ":idx:terms" }

// searchArgs is what common.lua's search_index needs to index new terms.
type searchArgs struct {
	Set   int      `json:"set"`  // KEYS index of the incident's own term set
	Dict  int      `json:"dict"` // KEYS index of the shard's term dictionary
	Max   int      `json:"max"`
	Terms []string `json:"terms"`
	Keys  []int    `json:"keys"` // KEYS index of each term's index
}

// searchCall adds the keys indexing text's terms for the incident with key
// inc, and describes them; nil when text has no term.
func searchCall(keys *keyList, shard, inc, text string) *searchArgs {
	terms := kb.Terms(text)
	if len(terms) == 0 {
		return nil
	}
	if len(terms) > maxIncidentTerms {
		terms = terms[:maxIncidentTerms]
	}
	a := &searchArgs{Set: keys.add(inc + ":terms"), Dict: keys.add(termDictionary(shard)), Max: maxIncidentTerms, Terms: terms}
	for _, t := range terms {
		a.Keys = append(a.Keys, keys.add(termIndex(shard, t)))
	}
	return a
}
