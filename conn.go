package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/httpx"
	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// syncer is one profile's sync: the Veza engine, or the Socotra syncer.
type syncer interface {
	Run(ctx context.Context, progress func(opsync.Progress)) error
}

// endpoint is a tenant to sync from, with its token fetched: a profile, or
// the demo's emulator.
type endpoint struct {
	name, provider, url, tenant string
	token                       config.Secret
	interval                    time.Duration
	tokenSource                 string // where the token came from, for messages
	readOnly                    bool
}

// endpointOf checks the profile's URL and fetches its token.
func endpointOf(ctx context.Context, p *config.Profile, insecure bool) (*endpoint, error) {
	if err := p.CheckURL(insecure); err != nil {
		return nil, usageError{err}
	}
	tok, err := p.Token(ctx)
	if err != nil {
		return nil, err
	}
	return &endpoint{name: p.Name, provider: p.Provider, url: p.URL, tenant: p.Tenant, token: tok,
		interval: p.Interval, tokenSource: p.TokenSource(), readOnly: p.ReadOnly}, nil
}

// conn is a client and its syncer for one endpoint.
type conn struct {
	ep     *endpoint
	url    string          // safe to show: no credentials
	veza   *veza.Client    // nil unless a Veza profile
	soc    *socotra.Client // nil unless a Socotra profile
	syncer syncer
}

type connOptions struct {
	log     *slog.Logger
	sources []string // nil: all
	watch   *connWatch
	// vezaOpts are tests' knobs (backoff); Logger and HTTPClient are set here.
	vezaOpts veza.Options
}

// connect builds the client and syncer of ep, writing into st.
func connect(ep *endpoint, st *store.Store, o connOptions) (*conn, error) {
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: o.watch.wrap(newTransport())}
	if ep.provider == config.ProviderSocotra {
		c, err := socotra.New(ep.url, ep.tenant, ep.token.Reveal(), socotra.ClientOptions{Logger: o.log, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		return &conn{ep: ep, url: c.BaseURL(), soc: c, syncer: socotra.NewSyncer(st, c, socotra.Options{Logger: o.log, Sources: o.sources})}, nil
	}
	vo := o.vezaOpts
	vo.Logger, vo.HTTPClient = o.log, hc
	c, err := veza.New(ep.url, ep.token.Reveal(), vo)
	if err != nil {
		return nil, err
	}
	eng := opsync.New(st, c, opsync.Options{Logger: o.log, Sources: o.sources})
	return &conn{ep: ep, url: c.BaseURL(), veza: c, syncer: eng}, nil
}

// sourceNames lists the sources a provider's sync has, for --sources.
func sourceNames(provider string) []string {
	if provider == config.ProviderSocotra {
		return socotra.SourceNames()
	}
	return opsync.SourceNames()
}

// parseSources checks a --sources list against the provider's sources.
func parseSources(list, provider string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	valid := sourceNames(provider)
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ok := false
		for _, v := range valid {
			ok = ok || v == s
		}
		if !ok {
			return nil, usageError{fmt.Errorf("--sources: %q is not a source of a %s profile (sources: %s)", s, provider, strings.Join(valid, ", "))}
		}
		out = append(out, s)
	}
	return out, nil
}

// newTransport is http.DefaultTransport with a connect timeout well under
// the request timeout, so an unreachable tenant is reported in seconds.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// connWatch sees every exchange with the tenant. The client retries a
// refused connection for half a minute before its caller hears of it; the
// watch tells the status bar "offline" at the first failed connect, and
// "online" again at the first answer, while the retries go on.
type connWatch struct {
	down func(error) // a connection could not be made
	up   func()      // an HTTP answer (any status) arrived
}

type watchedTransport struct {
	base http.RoundTripper
	w    *connWatch
}

func (w *connWatch) wrap(rt http.RoundTripper) http.RoundTripper {
	if w == nil {
		return rt
	}
	return &watchedTransport{base: rt, w: w}
}

func (t *watchedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	switch {
	case err == nil:
		if t.w.up != nil {
			t.w.up()
		}
	case req.Context().Err() == nil && isConnectFailure(err):
		if t.w.down != nil {
			t.w.down(err)
		}
	}
	return resp, err
}

// isConnectFailure reports a failure to reach the host at all: refused,
// unreachable, DNS, connect timeout (as opposed to an answer we dislike).
func isConnectFailure(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// isOffline reports an error that means the tenant could not be reached
// (as opposed to one it answered with).
func isOffline(err error) bool {
	var te *veza.TransportError
	var he *httpx.TransportError
	return errors.As(err, &te) || errors.As(err, &he) || isConnectFailure(err)
}

// entityOf is the store entity a progress source writes, for
// views.SyncedMsg (Veza sources are named after their tables).
func entityOf(source string) string {
	if e := socotra.EntityOf(source); e != "" {
		return e
	}
	if source == "open-tasks" {
		return "tasks"
	}
	return source
}

// connectCause is the short reason of a connect failure, for the status
// bar: "connection refused", "no such host", "i/o timeout".
func connectCause(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "no such host " + dns.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		s := op.Err.Error()
		if i := strings.LastIndex(s, ": "); i >= 0 {
			s = s[i+2:]
		}
		return s
	}
	return err.Error()
}
