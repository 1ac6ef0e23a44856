package console

import (
	"reflect"
	"testing"
)

// A history entry's Detail becomes fields the page can name in the agent's
// language; a part of another shape is kept whole.
func TestChangesReadTheHistoryDetail(t *testing.T) {
	got := changes("owner:  -> alice; level: 1 -> 2; something else")
	want := []change{{Field: "owner", Old: "", New: "alice"}, {Field: "level", Old: "1", New: "2"}, {New: "something else"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
}
