package veza

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/opsdeck/opsdeck/internal/jsonscan"
)

// RawLister fetches the body of a list page and decodes one, as two steps,
// so that a prefetching Pager can ask for the next page while this one is
// decoded: a page's request waits on the server, its decoding on the CPU,
// and a sync's pages otherwise pay for both in turn.
type RawLister[T any] struct {
	Fetch  func(context.Context, ListParams) ([]byte, error)
	Decode func([]byte) (ListPage[T], error)
}

// JobRecordsRaw is ListJobRecords in two steps (see RawLister).
func (c *Client) JobRecordsRaw() RawLister[Record[Job]] {
	return RawLister[Record[Job]]{
		Fetch: func(ctx context.Context, p ListParams) ([]byte, error) {
			return c.get(ctx, "list_jobs", c.routes.ListJobs, p.query(&c.routes))
		},
		Decode: func(body []byte) (ListPage[Record[Job]], error) {
			return decodeRecords[Job](c, "list_jobs", body)
		},
	}
}

// NewPrefetchPager is NewPager for a RawLister: as soon as a page's body
// says which page comes next, that page is requested, while the caller
// gets this one decoded. At most one request is ahead. The pager's rules
// (stop on has_more, the repeated and missing token checks) are those of
// the decoded page; the early look only decides whether to prefetch, and
// a prefetch the decoded page disagrees with is dropped. Close stops a
// request still in flight.
func NewPrefetchPager[T any](params ListParams, l RawLister[T]) *Pager[T] {
	p := NewPager(params, func(ctx context.Context, lp ListParams) (ListPage[T], error) {
		body, err := l.Fetch(ctx, lp)
		if err != nil {
			return ListPage[T]{}, err
		}
		return l.Decode(body)
	})
	p.raw = &l
	return p
}

// prefetch is a request ahead of the caller.
type prefetch struct {
	token  string // the page token it sent
	done   chan rawResult
	cancel context.CancelFunc
}

type rawResult struct {
	body []byte
	err  error
}

// nextRaw is Next for a prefetching pager.
func (p *Pager[T]) nextRaw(ctx context.Context) (ListPage[T], error) {
	var body []byte
	var err error
	if f := p.ahead; f != nil && f.token == p.params.PageToken {
		p.ahead = nil
		select {
		case r := <-f.done:
			body, err = r.body, r.err
		case <-ctx.Done():
			f.cancel()
			<-f.done
			err = ctx.Err()
		}
		f.cancel()
	} else {
		p.Close()
		body, err = p.raw.Fetch(ctx, p.params)
	}
	if err != nil {
		p.done = true
		return ListPage[T]{}, err
	}
	if more, token, ok := peekEnvelope(body); ok && more && token != "" && token != p.params.PageToken {
		fctx, cancel := context.WithCancel(ctx)
		f := &prefetch{token: token, done: make(chan rawResult, 1), cancel: cancel}
		next := p.params
		next.PageToken = token
		go func() {
			b, err := p.raw.Fetch(fctx, next)
			f.done <- rawResult{b, err}
		}()
		p.ahead = f
	}
	page, err := p.raw.Decode(body)
	if err != nil {
		p.Close()
	}
	return page, err
}

// Close stops the request a prefetching pager has in flight, if any, and
// waits for it to end. Pagers that do not prefetch have nothing to close.
func (p *Pager[T]) Close() {
	if f := p.ahead; f != nil {
		p.ahead = nil
		f.cancel()
		<-f.done
	}
}

// peekEnvelope reads has_more and next_page_token from a list page's body
// without decoding its values (they are skipped as raw JSON). ok is false
// for anything that is not a JSON object with those members well-formed.
func peekEnvelope(body []byte) (hasMore bool, token string, ok bool) {
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false, "", false
	}
	i++
	seenMore := false
	for {
		i = jsonscan.SkipSpace(body, i)
		if i < len(body) && body[i] == '}' {
			return hasMore, token, seenMore
		}
		keyEnd, ok := jsonscan.SkipString(body, i)
		if !ok {
			return false, "", false
		}
		key := body[i:keyEnd]
		i = jsonscan.SkipSpace(body, keyEnd)
		if i >= len(body) || body[i] != ':' {
			return false, "", false
		}
		i = jsonscan.SkipSpace(body, i+1)
		end, ok := jsonscan.SkipValue(body, i)
		if !ok {
			return false, "", false
		}
		switch {
		case bytes.Equal(key, []byte(`"has_more"`)):
			switch string(body[i:end]) {
			case "true":
				hasMore, seenMore = true, true
			case "false":
				hasMore, seenMore = false, true
			default:
				return false, "", false
			}
		case bytes.Equal(key, []byte(`"next_page_token"`)):
			if string(body[i:end]) != "null" && json.Unmarshal(body[i:end], &token) != nil {
				return false, "", false
			}
		}
		i = jsonscan.SkipSpace(body, end)
		if i < len(body) && body[i] == ',' {
			i++
			continue
		}
		if i < len(body) && body[i] == '}' {
			return hasMore, token, seenMore
		}
		return false, "", false
	}
}
