package intake

// Changed is what a change to an incident left: its id, state, owner and
// version right after it. A change is one round trip and reads nothing
// back; whoever needs the whole incident reads it (Get).
type Changed struct {
	ID      string `json:"id"`
	State   State  `json:"state"`
	Owner   string `json:"owner,omitempty"`
	Version int64  `json:"version"`
}
