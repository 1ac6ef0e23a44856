// Package redistest gives tests a real Redis: the server named by
// INTAKEBOT_TEST_REDIS_URL, or a throwaway redis-server it starts itself.
// Each test gets its own key prefix, removed when the test ends, so that
// packages and tests can share one server in parallel.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the Redis the tests use; redis+cluster:// URLs work too.
const EnvURL = "INTAKEBOT_TEST_REDIS_URL"

// Main runs the package's tests; when EnvURL is unset it first starts a
// redis-server on a free loopback port (and stops it afterwards). Use it
// from TestMain: os.Exit(redistest.Main(m)).
func Main(m *testing.M) int {
	if os.Getenv(EnvURL) != "" {
		return m.Run()
	}
	stop, url, err := startServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "redistest: %v\nInstall redis-server (apt-get install redis-server) or set %s.\n", err, EnvURL)
		return 2
	}
	defer stop()
	os.Setenv(EnvURL, url)
	return m.Run()
}

func startServer() (stop func(), url string, err error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	return launch(port, "--save", "", "--appendonly", "no", "--dir", os.TempDir())
}

// freePort is a loopback port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts a redis-server on port with the extra arguments and waits
// until it answers.
func launch(port int, args ...string) (stop func(), url string, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("no redis-server on PATH and %s is not set", EnvURL)
	}
	cmd := exec.Command(bin, append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1"}, args...)...)
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	url = fmt.Sprintf("redis://127.0.0.1:%d", port)
	opt, _ := redis.ParseURL(url)
	c := redis.NewClient(opt)
	defer c.Close()
	// Poll until the server answers: it needs a moment to start listening.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return stop, url, nil
		}
		select {
		case <-tick.C:
		case <-deadline:
			stop()
			return nil, "", fmt.Errorf("redis-server on port %d did not answer: %w", port, err)
		}
	}
}

// Outage is a redis-server of one test's own, which the test may kill and
// start again on the same port: to see how the code under test lives
// through Redis going away (the shared server of Main must stay up).
type Outage struct {
	t    testing.TB
	port int
	dir  string
	stop func()
	// URL reaches the server (while it runs).
	URL string
}

// StartOutage starts the test's own redis-server; it is killed when the
// test ends.
func StartOutage(t testing.TB) *Outage {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	o := &Outage{t: t, port: port, dir: t.TempDir()}
	o.Start()
	t.Cleanup(o.Kill)
	return o
}

// Kill kills the server (SIGKILL, as a crash would) and waits until it is
// gone. Killing a killed server does nothing.
func (o *Outage) Kill() {
	if o.stop != nil {
		o.stop()
		o.stop = nil
	}
}

// Start starts the server again on the same port, with the data it had:
// every write is in its append-only file before it is answered, so that a
// kill loses nothing, as with a production Redis set up for durability.
func (o *Outage) Start() {
	o.t.Helper()
	if o.stop != nil {
		return
	}
	stop, url, err := launch(o.port, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", o.dir)
	if err != nil {
		o.t.Fatalf("redistest: %v", err)
	}
	o.stop, o.URL = stop, url
}

// Connector opens a client for a URL; the store package's Connect.
type Connector func(url string) (redis.UniversalClient, error)

// New returns a client for the test Redis and a key prefix of the test's
// own; the prefix's keys are deleted when the test ends.
func New(t testing.TB, connect Connector) (redis.UniversalClient, string) {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Fatalf("%s is not set: call redistest.Main from TestMain", EnvURL)
	}
	rdb, err := connect(url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test" + hex.EncodeToString(b)
	t.Cleanup(func() {
		defer rdb.Close()
		if err := deleteKeys(rdb, prefix); err != nil && !errors.Is(err, redis.ErrClosed) {
			t.Errorf("redistest: deleting the keys of prefix %s: %v", prefix, err)
		}
	})
	return rdb, prefix
}

// Keys returns the keys matching pattern on every master. On Redis Cluster
// KEYS through a ClusterClient is answered by one node only, so tests that
// look for keys use this; give it a pattern under the test's own prefix.
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	var mu sync.Mutex
	var keys []string
	err := eachMaster(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	})
	sort.Strings(keys)
	return keys, err
}

// eachMaster runs fn on the one Redis, or on every master of a Cluster
// (concurrently).
func eachMaster(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	default:
		return fmt.Errorf("redistest: unsupported client %T", rdb)
	}
}

// deleteKeys removes the prefix's keys: SCAN and DEL on every master, as a
// Cluster spreads them over its nodes.
func deleteKeys(rdb redis.UniversalClient, prefix string) error {
	return eachMaster(context.Background(), rdb, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	})
}
