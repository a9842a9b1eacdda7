package veza

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// ErrRepeatedToken means the server kept answering has_more with the page
// token it was just given: following it would loop forever.
var ErrRepeatedToken = errors.New("server repeated the same page token")

// ErrMissingToken means has_more was true but next_page_token was empty:
// requesting again without a token would restart from the first page.
var ErrMissingToken = errors.New("has_more is true but next_page_token is empty")

// DefaultMaxRepeats is how many times in a row a Pager tolerates being handed
// back the token it sent before it gives up.
const DefaultMaxRepeats = 3

// Pager follows next_page_token until has_more is false. It stops on
// has_more only, never on an empty token, and passes empty pages through
// (the caller still gets their token, so it can save a resume point).
//
//	p := veza.NewPager(veza.ListParams{PageSize: 100}, c.ListJobs)
//	for p.More() {
//		page, err := p.Next(ctx)
//		...
//	}
type Pager[T any] struct {
	fetch      func(context.Context, ListParams) (ListPage[T], error)
	params     ListParams
	done       bool
	repeats    int
	pages      int
	MaxRepeats int           // default DefaultMaxRepeats
	raw        *RawLister[T] // NewPrefetchPager (prefetch.go)
	ahead      *prefetch     // the request in flight for the next page
}

// NewPager starts at params (including params.PageToken, to resume a pass).
func NewPager[T any](params ListParams, fetch func(context.Context, ListParams) (ListPage[T], error)) *Pager[T] {
	return &Pager[T]{fetch: fetch, params: params, MaxRepeats: DefaultMaxRepeats}
}

// More reports whether Next has another page to fetch.
func (p *Pager[T]) More() bool { return !p.done }

// Token is the page token the next call to Next will send: after a page has
// been consumed it is the resume point for the rest of the pass.
func (p *Pager[T]) Token() string { return p.params.PageToken }

// Pages is the number of pages fetched so far.
func (p *Pager[T]) Pages() int { return p.pages }

// Next fetches the next page. After an error the pager is finished.
func (p *Pager[T]) Next(ctx context.Context) (ListPage[T], error) {
	if p.done {
		return ListPage[T]{}, errors.New("veza: Pager.Next called after the last page")
	}
	var page ListPage[T]
	var err error
	if p.raw != nil {
		page, err = p.nextRaw(ctx)
	} else {
		page, err = p.fetch(ctx, p.params)
	}
	if err != nil {
		p.done = true
		return ListPage[T]{}, err
	}
	p.pages++
	if !page.HasMore {
		p.done = true
		p.Close()
		return page, nil
	}
	switch {
	case page.NextPageToken == "":
		p.done = true
		p.Close()
		return ListPage[T]{}, fmt.Errorf("veza: page %d: %w", p.pages, ErrMissingToken)
	case page.NextPageToken == p.params.PageToken:
		p.repeats++
		max := p.MaxRepeats
		if max <= 0 {
			max = DefaultMaxRepeats
		}
		if p.repeats >= max {
			p.done = true
			p.Close()
			return ListPage[T]{}, fmt.Errorf("veza: page %d: %w %d times", p.pages, ErrRepeatedToken, p.repeats)
		}
	default:
		p.repeats = 0
	}
	p.params.PageToken = page.NextPageToken
	return page, nil
}

// All yields every value of every page, then stops; an error ends the
// sequence as its last element.
func (p *Pager[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for p.More() {
			page, err := p.Next(ctx)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range page.Values {
				if !yield(v, nil) {
					return
				}
			}
		}
	}
}
