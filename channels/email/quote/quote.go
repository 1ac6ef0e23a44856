// Package quote finds the part of a reply that its sender newly wrote, by
// removing quoted history, reply headers and signatures. English and Spanish
// are covered carefully; common French, German, Italian, Portuguese, Dutch,
// Scandinavian, Polish and Russian client headers are recognised as well.
//
// It works on plain text only: convert HTML first (see channels/email/message).
package quote

import (
	"regexp"
	"strings"
	"unicode"
)

var (
	// Lines that end the new text for good: everything after them is the
	// previous mail, whether or not it is ">"-quoted.
	separatorRe = regexp.MustCompile(`(?i)^[-_=*\s]*(original message|mensaje original|message d'origine|ursprüngliche nachricht|messaggio originale|mensagem original|oorspronkelijk bericht|oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande|alkuperäinen viesti|wiadomość oryginalna|исходное сообщение|forwarded message|mensaje reenviado|message transféré|weitergeleitete nachricht|messaggio inoltrato|mensagem encaminhada|doorgestuurd bericht|videresendt meddelelse|vidarebefordrat meddelande|reply message)[-_=*\s]*:?$`)
	// Clients also frame their own words: "-------- Oprindelig besked --------",
	// Zoho's "---- On <date> <who> wrote ----".
	dashedSeparatorRe = regexp.MustCompile(`^-{3,}\s*[\p{L}'’ ]{3,40}\s*-{3,}$|^-{2,}.*(wrote|escribió|escribio|a écrit|schrieb)\s*-{2,}$`)
	forwardRe         = regexp.MustCompile(`(?i)^(begin forwarded message|inicio del mensaje reenviado|comienzo del mensaje reenviado|début du message réexpédié|anfang der weitergeleiteten nachricht|inizio messaggio inoltrato)\s*:?$`)

	// A reply attribution: "On <date>, <who> wrote:", "El <fecha>, <quien>
	// escribió:", also when the client wrapped it over several lines.
	// Go's \b is ASCII-only, so word starts and ends are spelled out for
	// verbs like "escribió" and "написал".
	attributionVerbRe = regexp.MustCompile(`(?i)(?:^|[\s,"'>)])(wrote|escribió|escribio|a écrit|schrieb|ha scritto|escreveu|schreef|skrev|napisał\(a\)|napisała|napisał|napisal|pisze|написал\(а\)|написала|написал|kirjoitti|írta|writes|escribe)(?:[\s(][^:]{0,120})?\s*:$`)
	attributionLeadRe = regexp.MustCompile(`(?i)^(on|el|le|am|il|em|op|den|d\.|w dniu|dne|the|в|en)\s`)
	// Attributions without a verb ("26.06.2014, 14:41, "Ana" <ana@x.es>:")
	// are only trusted when a ">"-quoted block follows.
	addressAttributionRe = regexp.MustCompile(`[0-9].*<\s*[^<>\s]+@[^<>\s]+\s*>\s*:?$`)
	attributionEndRe     = regexp.MustCompile(`(?i)\s(wrote|escribió|escribio)$`)

	// Outlook-style header blocks: "From: …" followed by "Sent:", "To:" … in
	// the client's language, possibly bolded by an HTML conversion.
	headerFieldRe = regexp.MustCompile(`(?i)^\*?\s*(from|de|von|van|da|fra|från|od|от|lähettäjä|afsender|sent|enviado el|enviado|enviada|envoyé|gesendet|inviato|verzonden|sendt|skickat|wysłano|отправлено|lähetetty|date|fecha|datum|data|dato|дата|päivämäärä|to|para|an|à|a|aan|til|till|do|кому|vastaanottaja|cc|cco|kopie|kopia|копия|subject|asunto|betreff|objet|oggetto|assunto|onderwerp|emne|ämne|temat|тема|aihe|reply-to|responder a)\s*:`)
	headerFromRe  = regexp.MustCompile(`(?i)^\*?\s*(from|de|von|van|da|fra|från|od|от|lähettäjä|afsender)\s*:`)
	ruleRe        = regexp.MustCompile(`^\s*([-_=]\s*){8,}$`)

	// Mobile and webmail footers the client added, not the person.
	deviceSigRe = regexp.MustCompile(`(?i)^(sent from my [\p{L}\p{N}'’ .-]{1,40}|sent from (mail|outlook|yahoo mail|gmail|my mobile|samsung mobile|aol mobile mail)( for| on)?[\p{L}\p{N} .-]{0,30}|sent with [\p{L}\p{N} .-]{1,40}|sent via [\p{L}\p{N} .-]{1,40}|sent on the go|enviado desde mi [\p{L}\p{N}'’ .-]{1,40}|enviado desde (outlook|correo|yahoo mail|mail|gmail)( para| de)?[\p{L}\p{N} .-]{0,30}|enviado con [\p{L}\p{N} .-]{1,40}|enviado do meu [\p{L}\p{N} .-]{1,40}|envoyé de mon [\p{L}\p{N} .-]{1,40}|envoyé depuis mon [\p{L}\p{N} .-]{1,40}|envoyé à partir de [\p{L}\p{N} .-]{1,40}|von meinem [\p{L}\p{N} .-]{1,40} gesendet|gesendet von (outlook|mail|meinem)[\p{L}\p{N} .-]{0,40}|inviato da(l mio)? [\p{L}\p{N} .-]{1,40}|verzonden (vanaf|met) (mijn )?[\p{L}\p{N} .-]{1,40}|sendt fra min [\p{L}\p{N} .-]{1,40}|skickat från min [\p{L}\p{N} .-]{1,40}|get outlook for (ios|android)|obtener outlook para (ios|android)|descargar outlook para (ios|android)|télécharger outlook pour (ios|android))[.!]?\s*(<[^<>\s]+>|\([^()\s]+\))?$`)
	// Looser footers ("Sent from TypeApp") only count as the very last line.
	trailingSigRe = regexp.MustCompile(`(?i)^(sent|enviado) (from|with|via|desde|con) [^,;:]{1,50}$`)
	// "--" and "-- " per RFC 3676, and dash rules made of typographic dashes.
	sigDelimRe = regexp.MustCompile(`^(--|—+|–{3,}|_{2,})$`)
)

type line struct {
	text   string
	quoted bool
}

// Visible returns the text the sender newly wrote in a reply: quoted lines,
// reply headers, forwarded or original-message sections, signatures and
// device footers are removed; inline answers between quotes are kept.
// Lines are right-trimmed and runs of blank lines collapsed.
func Visible(text string) string {
	lines := splitLines(text)
	lines = cutHistory(lines)
	kept := make([]string, 0, len(lines))
	for _, l := range lines {
		if !l.quoted {
			kept = append(kept, l.text)
		}
	}
	kept = cutSignature(kept)
	return tidy(kept)
}

func splitLines(text string) []line {
	text = strings.TrimPrefix(text, "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	raw := strings.Split(text, "\n")
	out := make([]line, len(raw))
	for i, s := range raw {
		s = strings.TrimRightFunc(strings.ReplaceAll(s, "\u00a0", " "), unicode.IsSpace)
		out[i] = line{text: s, quoted: strings.HasPrefix(strings.TrimLeft(s, " \t"), ">")}
		// Gmail wraps "<ana@example.com>:" so that ">:" starts a line.
		if i > 0 && strings.TrimSpace(s) == ">:" && strings.Contains(out[i-1].text, "<") {
			out[i].quoted = false
		}
	}
	return out
}

// isSeparator reports whether a line starts the quoted original: a
// separator, a forward header or a device footer. The cheap checks first
// spare most body lines the regexps (a dashed rule starts with "--"; a
// forward header is a short line).
func isSeparator(t string) bool {
	return (couldBeSeparator(t) && separatorRe.MatchString(t)) || (strings.HasPrefix(t, "--") && dashedSeparatorRe.MatchString(t)) ||
		(len(t) <= 120 && forwardRe.MatchString(t)) || deviceSigRe.MatchString(t)
}

// separatorJunk is what separatorRe allows around its phrase: [-_=*\s]
// (Go's \s is ASCII) and the colon.
const separatorJunk = "-_=*\t\n\f\r :"

// couldBeSeparator is a cheap necessary condition of separatorRe: its
// phrases are at most 26 characters, 4 bytes each at most however their
// case is folded, so a longer line less its framing cannot match. Body
// paragraphs, often hundreds of bytes on one line, are spared the regexp.
func couldBeSeparator(t string) bool {
	return len(strings.Trim(t, separatorJunk)) <= 26*4
}

// cutHistory drops everything from the first hard boundary on, and the
// attribution lines that introduce a ">"-quoted block (the block itself is
// dropped later, so bottom-posted and inline answers survive).
func cutHistory(lines []line) []line {
	for i := 0; i < len(lines); i++ {
		if lines[i].quoted {
			continue
		}
		t := strings.TrimSpace(lines[i].text)
		if t == "" {
			continue
		}
		// A device footer is where the phone appended the unquoted original.
		if isSeparator(t) {
			return lines[:backOverRules(lines, i)]
		}
		if headerBlockAt(lines, i) {
			if !hasText(lines[:i]) {
				// Headers above any new text belong to this very mail
				// (pasted or forwarded as body), so only they go.
				for ; i < len(lines) && strings.TrimSpace(lines[i].text) != ""; i++ {
					lines[i].quoted = true
				}
				continue
			}
			return lines[:backOverRules(lines, i)]
		}
		if n := attributionAt(lines, i); n > 0 {
			if nextIsQuoted(lines, i+n) {
				for j := i; j < i+n; j++ {
					lines[j].quoted = true
				}
				i += n - 1
				continue
			}
			return lines[:i]
		}
		if strings.Contains(t, "@") && addressAttributionRe.MatchString(t) {
			if nextIsQuoted(lines, i+1) {
				lines[i].quoted = true
				continue
			}
			if strings.HasSuffix(t, ":") {
				return lines[:i]
			}
		}
	}
	return lines
}

func hasText(lines []line) bool {
	for _, l := range lines {
		if !l.quoted && strings.TrimSpace(l.text) != "" {
			return true
		}
	}
	return false
}

// backOverRules also removes the "____" or "----" rule and blank lines that
// Outlook and Gmail put right above their header blocks.
func backOverRules(lines []line, i int) int {
	for i > 0 {
		t := strings.TrimSpace(lines[i-1].text)
		if t == "" || ruleRe.MatchString(t) {
			i--
			continue
		}
		break
	}
	return i
}

// attributionAt reports how many lines (1 to 3) starting at i form a reply
// attribution, or 0. Wrapped attributions are why it looks ahead.
func attributionAt(lines []line, i int) int {
	first := strings.TrimSpace(lines[i].text)
	// A sentence such as "Here is what Ana wrote:" must not count, so the
	// attribution has to open with a lead word like "On"/"El", a date or an
	// address.
	if !attributionLeadRe.MatchString(first) && !hasDigitOrAt(first) {
		return 0
	}
	joined := ""
	for n := 1; n <= 3 && i+n-1 < len(lines); n++ {
		l := lines[i+n-1]
		t := strings.TrimSpace(l.text)
		if l.quoted || t == "" || (n > 1 && attributionLeadRe.MatchString(t)) {
			return 0
		}
		if joined != "" {
			joined += " "
		}
		joined += t
		if len(joined) > 400 {
			return 0
		}
		// Both patterns are anchored at the end ("...:" and "...wrote"),
		// so a cheap look at the last byte spares most lines the regexps.
		if (strings.HasSuffix(joined, ":") && attributionVerbRe.MatchString(joined)) ||
			(!strings.HasSuffix(joined, ":") && attributionLeadRe.MatchString(first) && hasDigitOrAt(joined) && attributionEndRe.MatchString(joined)) {
			return n
		}
	}
	return 0
}

// hasDigitOrAt is the regexp [0-9@] without the regexp machinery, which
// cost a long body line more than everything else quote stripping does.
func hasDigitOrAt(s string) bool { return strings.ContainsAny(s, "0123456789@") }

func nextIsQuoted(lines []line, i int) bool {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i].text) == "" {
			continue
		}
		return lines[i].quoted
	}
	// An attribution with nothing after it is still not new text.
	return true
}

// headerBlockAt wants a From-like field plus two more header fields within
// the next few lines, so prose that merely starts with "From:" is safe.
func headerBlockAt(lines []line, i int) bool {
	// Every header field has its colon: a line without one is spared the
	// regexp.
	if t := strings.TrimSpace(lines[i].text); !strings.Contains(t, ":") || !headerFieldRe.MatchString(t) {
		return false
	}
	fields, sawFrom := 0, false
	for j := i; j < len(lines) && j < i+8; j++ {
		t := strings.TrimSpace(lines[j].text)
		if lines[j].quoted {
			break
		}
		if t == "" {
			if fields > 0 && j > i && j+1 < len(lines) && strings.TrimSpace(lines[j+1].text) == "" {
				break
			}
			continue
		}
		if headerFieldRe.MatchString(t) {
			fields++
			if headerFromRe.MatchString(t) {
				sawFrom = true
			}
		}
	}
	return sawFrom && fields >= 3
}

// cutSignature removes a "-- " signature and trailing device footers. A
// signature delimiter only counts when little text follows it, because
// people also use "--" as a dash or a list marker.
func cutSignature(lines []string) []string {
	// after[i] counts the non-blank lines after line i, so that each
	// delimiter is judged in constant time.
	after := make([]int, len(lines)+1)
	for i := len(lines) - 1; i >= 0; i-- {
		after[i] = after[i+1]
		if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			after[i]++
		}
	}
	for i, l := range lines {
		// Business signatures run to several lines; a longer tail is the
		// rest of the message, not a signature.
		if sigDelimRe.MatchString(l) && after[i] <= 12 {
			lines = lines[:i]
			break
		}
	}
	for {
		lines = trimBlankTail(lines)
		if len(lines) == 0 {
			return lines
		}
		last := strings.TrimSpace(lines[len(lines)-1])
		if !deviceSigRe.MatchString(last) && !trailingSigRe.MatchString(last) {
			return lines
		}
		lines = lines[:len(lines)-1]
	}
}

func trimBlankTail(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func tidy(lines []string) string {
	var b strings.Builder
	blank := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			blank = b.Len() > 0
			continue
		}
		if blank {
			b.WriteString("\n\n")
		} else if b.Len() > 0 {
			b.WriteByte('\n')
		}
		blank = false
		b.WriteString(l)
	}
	return b.String()
}
