package redisstore

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Connect opens a client for a Redis URL:
//
//	redis://[user:password@]host:port[/db]         one Redis
//	rediss://...                                    the same over TLS
//	redis+cluster://[user:password@]h1:p1,h2:p2     Redis Cluster (seed nodes)
//	redis+sentinel://[user:password@]h1:p1,h2:p2/master[?db=N]   Sentinel
//
// Add "+tls" after the scheme's name for TLS with cluster or sentinel
// (rediss+cluster://, rediss+sentinel://).
//
// An error of the client that means Redis cannot serve now (down, loading,
// failing over: see Unavailable) matches intake.ErrUnavailable.
func Connect(raw string) (redis.UniversalClient, error) {
	rdb, err := connect(raw)
	if err != nil {
		return nil, err
	}
	rdb.AddHook(availabilityHook{})
	return rdb, nil
}

func connect(raw string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("redis url %q: no scheme (want redis://, rediss://, redis+cluster:// or redis+sentinel://)", redact(raw))
	}
	switch scheme {
	case "redis", "rediss":
		opt, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis url %q: %w", redact(raw), err)
		}
		return redis.NewClient(opt), nil
	case "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
	default:
		return nil, fmt.Errorf("redis url %q: unknown scheme %q", redact(raw), scheme)
	}
	var user, pass string
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		info := rest[:at]
		rest = rest[at+1:]
		u, p, hasPass := strings.Cut(info, ":")
		var err error
		if user, err = url.PathUnescape(u); err != nil {
			return nil, fmt.Errorf("redis url: bad user: %w", err)
		}
		if hasPass {
			if pass, err = url.PathUnescape(p); err != nil {
				return nil, fmt.Errorf("redis url: bad password: %w", err)
			}
		}
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, path, _ := strings.Cut(rest, "/")
	addrs := strings.Split(hosts, ",")
	for _, a := range addrs {
		if _, port, ok := strings.Cut(a, ":"); !ok || port == "" || a == "" {
			return nil, fmt.Errorf("redis url %q: address %q needs host:port", redact(raw), a)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("redis url: bad query: %w", err)
	}
	var tlsConf *tls.Config
	if strings.HasPrefix(scheme, "rediss") {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if strings.HasSuffix(scheme, "cluster") {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Username: user, Password: pass, TLSConfig: tlsConf}), nil
	}
	if path == "" {
		return nil, fmt.Errorf("redis url %q: sentinel needs the master name as path", redact(raw))
	}
	db := 0
	if v := q.Get("db"); v != "" {
		if db, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("redis url: bad db %q", v)
		}
	}
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: path, SentinelAddrs: addrs, Username: user,
		Password: pass, SentinelPassword: q.Get("sentinel_password"), DB: db, TLSConfig: tlsConf}), nil
}

// redact hides a password in a URL shown in an error.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		return scheme + "://***@" + rest[at+1:]
	}
	return raw
}
