package workflow

import "testing"

// Each note the engine writes following an outage reads back as its kind
// and outage id; other text, or a malformed id, is not one.
func TestGroupNoteReadsBackWhatTheEngineWrote(t *testing.T) {
	for _, kind := range []string{NoteMovedWithOutage, NoteClosedWithOutage, NoteOutageClosedFirst, NoteStillFails} {
		id := "INC-000042"
		if kind == NoteStillFails {
			id = ""
		}
		k, got, ok := GroupNote(groupNote(kind, id))
		if !ok || k != kind || got != id {
			t.Errorf("%s: read back as %q %q %v", kind, k, got, ok)
		}
	}
	for _, note := range []string{"", "closed with", "closed with INC-1 now", "closed with <b>x</b>", "router restarted"} {
		if k, _, ok := GroupNote(note); ok {
			t.Errorf("%q read as the engine's %s", note, k)
		}
	}
}
