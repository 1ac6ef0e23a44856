// Package mailtls names how a mail connection (IMAP or SMTP) is encrypted.
// The configuration, the IMAP watcher and the SMTP sender share this one
// type, so that a mode means the same thing, and is refused for the same
// hosts, wherever it is written.
package mailtls

import (
	"net"
	"strings"
)

// Mode is how a mail connection is encrypted. The empty Mode means the
// client's default (implicit for IMAP, starttls for SMTP).
type Mode string

// The modes, spelled as in the configuration file.
const (
	Implicit Mode = "implicit" // TLS from the first byte (993, 465)
	StartTLS Mode = "starttls" // plaintext greeting, then STARTTLS (143, 587)
	None     Mode = "none"     // no encryption: loopback servers only
)

// Valid reports whether m is a known mode or empty (the client's default).
func (m Mode) Valid() bool {
	switch m {
	case "", Implicit, StartTLS, None:
		return true
	}
	return false
}

// InClear reports whether a password or bearer token sent to host under m
// would cross the network unencrypted: mode none to anything but this
// machine. Both mail clients and the configuration check refuse that.
func (m Mode) InClear(host string) bool {
	return m == None && !Loopback(host)
}

// Loopback reports whether host is this machine. Only the literal name
// "localhost" and loopback IPs count: a name is not resolved, because what
// DNS says today is not a promise that the traffic stays local.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
