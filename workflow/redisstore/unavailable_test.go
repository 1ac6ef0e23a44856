package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// respServer is a peer speaking Redis's wire protocol that answers every
// command with one fixed error line (or never answers, when the line is
// empty): the answers of a Redis that is loading, failing over or busy,
// which a real server gives only at moments a test cannot pick. The
// handshake (HELLO, CLIENT) is answered as an old Redis would.
func respServer(t *testing.T, line string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serveRESP(c, line) })
		}
	})
	return "redis://" + ln.Addr().String()
}

func serveRESP(c net.Conn, line string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		switch strings.ToUpper(args[0]) {
		case "HELLO":
			_, err = io.WriteString(c, "-ERR unknown command 'HELLO'\r\n")
		case "CLIENT":
			_, err = io.WriteString(c, "+OK\r\n")
		default:
			if line == "" {
				continue // never answer
			}
			_, err = io.WriteString(c, line+"\r\n")
		}
		if err != nil {
			return
		}
	}
}

// readCommand reads one command: an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	head, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad command header %q", head)
	}
	args := make([]string, n)
	for i := range args {
		size, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(size, "$")))
		if err != nil {
			return nil, err
		}
		buf := make([]byte, l+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:l])
	}
	return args, nil
}

// Redis's answers that mean "not now" are recognised as unavailability,
// on single commands, pipelines and scripts alike; answers that judge the
// command are not.
func TestRedisAnswersThatMeanNotNow(t *testing.T) {
	for _, c := range []struct {
		line        string
		unavailable bool
	}{
		{"-LOADING Redis is loading the dataset in memory", true},
		{"-CLUSTERDOWN The cluster is down", true},
		{"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", true},
		{"-TRYAGAIN Multiple keys request during rehashing of slot", true},
		{"-READONLY You can't write against a read only replica.", true},
		{"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.", true},
		{"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", true},
		{"-ERR max number of clients reached", true},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value", false},
		{"-ERR unknown command 'FOO'", false},
		{"-NOSCRIPT No matching script. Please use EVAL.", false},
	} {
		name, _, _ := strings.Cut(c.line[1:], " ")
		t.Run(name, func(t *testing.T) {
			// No retries: go-redis retries LOADING and the like itself,
			// which only makes this test slower.
			rdb, err := redisstore.Connect(respServer(t, c.line) + "?max_retries=-1")
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			ctx := context.Background()
			errs := map[string]error{"get": rdb.Get(ctx, "k").Err()}
			_, errs["pipeline"] = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Get(ctx, "a")
				p.Incr(ctx, "b")
				return nil
			})
			errs["script"] = redis.NewScript("return 1").Run(ctx, rdb, []string{"k"}).Err()
			for what, err := range errs {
				if err == nil {
					t.Fatalf("%s: no error", what)
				}
				if got := errors.Is(err, intake.ErrUnavailable); got != c.unavailable {
					t.Errorf("%s: %v: unavailable = %v, want %v", what, err, got, c.unavailable)
				}
				if !strings.Contains(err.Error(), c.line[1:]) {
					t.Errorf("%s: %q lost Redis's message %q", what, err, c.line[1:])
				}
			}
		})
	}
}

// A Redis that does not answer in time, or has no connection free for us,
// is unavailable; a missing key and a caller that gave up are not.
func TestSilentRedisIsUnavailable(t *testing.T) {
	url := respServer(t, "")
	rdb, err := redisstore.Connect(url + "?max_retries=-1&read_timeout=100ms&pool_size=1&pool_timeout=50ms")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	// Two at once on a pool of one: one waits for an answer that never
	// comes, the other for the connection. Repeated until both were seen,
	// since which goroutine gets the connection first is up to the runtime.
	var sawRead, sawPool bool
	for range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = rdb.Get(ctx, "k").Err() })
		}
		wg.Wait()
		for _, err := range errs {
			if !errors.Is(err, intake.ErrUnavailable) {
				t.Fatalf("%v: not unavailable", err)
			}
			if errors.Is(err, redis.ErrPoolTimeout) {
				sawPool = true
			} else {
				sawRead = true
			}
		}
		if sawRead && sawPool {
			break
		}
	}
	if !sawRead || !sawPool {
		t.Fatalf("saw a read timeout %v, a pool timeout %v", sawRead, sawPool)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := rdb.Get(cancelled, "k").Err(); err == nil || errors.Is(err, intake.ErrUnavailable) {
		t.Errorf("a cancelled caller: %v", err)
	}
	if redisstore.Unavailable(redis.Nil) || redisstore.Unavailable(nil) {
		t.Error("redis.Nil or nil counted as unavailable")
	}
}

// A real Redis killed under the store: every kind of store call (a read,
// a Lua script, a pipeline) says unavailable, and works again once Redis
// is back on its port.
func TestKilledRedisIsUnavailableThenBack(t *testing.T) {
	o := redistest.StartOutage(t)
	rdb, err := redisstore.Connect(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	store := redisstore.New(rdb, "outage", intake.RouteEmail)
	ctx := context.Background()
	token, err := store.AddAgent(ctx, "alice", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o.Kill()
	calls := map[string]func() error{
		"ping":         func() error { return store.Ping(ctx) },
		"authenticate": func() error { _, err := store.Authenticate(ctx, token); return err },
		"outbox depth": func() error { _, _, err := store.OutboxDepth(ctx); return err },
		"list":         func() error { _, err := store.List(ctx, intake.ListFilter{Limit: 5}); return err },
		"spend":        func() error { _, err := store.Spend(ctx, "nonce", time.Now().Add(time.Hour)); return err },
	}
	for what, call := range calls {
		if err := call(); !errors.Is(err, intake.ErrUnavailable) {
			t.Errorf("%s with Redis killed: %v, want unavailable", what, err)
		}
	}
	o.Start()
	// The client waits a moment before dialling a server that refused it
	// again; until then it says unavailable, never anything else.
	eventually(t, "alice authenticated after the restart", func() bool {
		a, err := store.Authenticate(ctx, token)
		if err != nil && !errors.Is(err, intake.ErrUnavailable) {
			t.Fatalf("after the restart: %+v, %v", a, err)
		}
		return err == nil && a.Name == "alice"
	})
}
