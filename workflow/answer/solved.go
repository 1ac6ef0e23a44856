package answer

import (
	"regexp"
	"strconv"
	"strings"
)

// solvedRe is a first line that says only "solved" or "resuelto", with the
// number of the article when several were offered ("solved 2", "resuelto
// #2"). Nothing looser: "solved?" or "not solved yet" must not close a case
// by mistake, so anything else on that line makes it no such answer.
var solvedRe = regexp.MustCompile(`^(?:solved|resuelto|resuelta|solucionado|solucionada)(?:\s*(?:#|no\.?|n[ou]m(?:ber|ero)?\.?)?\s*([1-9]))?\s*[.!]*$`)

// Solved reads a reply to an acknowledgment that offered articles: the
// reporter's first line says "solved" or "resuelto", optionally with the
// article's number (1 when none). ok is false for anything else.
func Solved(text string) (n int, ok bool) {
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(fold(line).s)
		if line == "" {
			continue
		}
		m := solvedRe.FindStringSubmatch(line)
		if m == nil {
			return 0, false
		}
		if m[1] == "" {
			return 1, true
		}
		n, _ := strconv.Atoi(m[1])
		return n, true
	}
	return 0, false
}
