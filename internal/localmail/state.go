package localmail

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// State is what "intakebot local send" and "local inbox" need to reach a
// running local mode: the servers, the accounts and the bot's API. The
// passwords are new at every start, so serve writes the state to a file
// only its user can read (WriteState) and removes it when it stops.
type State struct {
	PID      int     `json:"pid"`
	API      string  `json:"api"` // the bot's API, http://host:port
	IMAPAddr string  `json:"imap"`
	SMTPAddr string  `json:"smtp"`
	Domain   string  `json:"domain"`
	Helpdesk Account `json:"helpdesk"`
	Demo     Account `json:"demo"`
}

// StateFileOff, as the state file's path, writes none (the demo, which
// must not hide a serve running beside it).
const StateFileOff = "off"

// StatePath is where the state file is: path when set, else
// intakebot/local.json in the user's runtime directory ($XDG_RUNTIME_DIR:
// per login, in memory, gone at logout) or, without one, cache directory.
// getenv reads the environment (os.Getenv, or a test's).
func StatePath(path string, getenv func(string) string) (string, error) {
	if path != "" {
		return path, nil
	}
	dir := getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		var err error
		if dir, err = cacheDir(getenv); err != nil {
			return "", fmt.Errorf("no directory for the local state file (set local.state_file): %w", err)
		}
	}
	return filepath.Join(dir, "intakebot", "local.json"), nil
}

// cacheDir is os.UserCacheDir read through getenv.
func cacheDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return d, nil
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache"), nil
	}
	return os.UserCacheDir()
}

// State is the server's state, for the bot whose API is at api.
func (m *Server) State(api string) State {
	return State{PID: os.Getpid(), API: api, IMAPAddr: m.imapAddr, SMTPAddr: m.smtpAddr, Domain: m.domain,
		Helpdesk: m.Account(Helpdesk), Demo: m.Account(Demo)}
}

// WriteState writes st to path, readable by its user only (it holds the
// passwords), in one step: a reader never sees half a file.
func WriteState(path string, st State) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("local state file: %w", err)
	}
	f, err := os.CreateTemp(dir, ".local-*.json") // mode 0600
	if err != nil {
		return fmt.Errorf("local state file: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("local state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("local state file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("local state file: %w", err)
	}
	return nil
}

// ErrNoState says that no local mode is running (as far as the state file
// tells).
var ErrNoState = errors.New("no local-mode intakebot is running")

// ReadState reads the state file at path.
func ReadState(path string) (State, error) {
	var st State
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("%w (there is no %s): start one with \"intakebot serve\" and no configuration", ErrNoState, path)
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.SMTPAddr == "" || st.IMAPAddr == "" {
		return State{}, fmt.Errorf("%s is not a local state file written by intakebot serve (%v); remove it and restart serve", path, err)
	}
	return st, nil
}

// RemoveState removes the state file at path if it is still st's: a
// second local mode started meanwhile wrote its own, which must stay.
func RemoveState(path string, st State) error {
	cur, err := ReadState(path)
	if err != nil || cur.SMTPAddr != st.SMTPAddr || cur.API != st.API || cur.PID != st.PID {
		return nil
	}
	return os.Remove(path)
}
