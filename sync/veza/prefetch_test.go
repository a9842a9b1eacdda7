package veza

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func TestPeekEnvelope(t *testing.T) {
	for _, c := range []struct {
		body  string
		more  bool
		token string
		ok    bool
	}{
		{`{"values":[{"a":"}\"]"}],"has_more":true,"next_page_token":"t\u00e9"}`, true, "té", true},
		{` { "next_page_token" : "x" , "has_more" : false , "values" : [ ] } `, false, "x", true},
		{`{"values":[],"has_more":true,"next_page_token":null}`, true, "", true},
		{`{"values":[],"has_more":false}`, false, "", true},
		{`{"values":[]}`, false, "", false},                                       // has_more missing
		{`{"values":[],"has_more":"yes"}`, false, "", false},                      // wrong type
		{`{"values":[1,2,"has_more":true}`, false, "", false},                     // broken
		{`{"values":[],"has_more":true,"next_page_token":"abc`, false, "", false}, // truncated
		{`<html>502</html>`, false, "", false},
		{``, false, "", false},
	} {
		more, tok, ok := peekEnvelope([]byte(c.body))
		if more != c.more || tok != c.token || ok != c.ok {
			t.Errorf("%s: got %v %q %v, want %v %q %v", c.body, more, tok, ok, c.more, c.token, c.ok)
		}
	}
}

// fakePages serves n pages of one value each; page i has token "p<i>".
type fakePages struct {
	n        int
	mu       sync.Mutex
	fetched  []string // tokens asked for, in order
	started  chan string
	block    map[string]chan struct{} // a fetch of this token waits for the channel (or ctx)
	cancels  int
	badToken map[int]string // page i's body names this token but decodes to the right one
}

func (f *fakePages) body(i int) []byte {
	p := ListPage[int]{Values: []int{i}, HasMore: i+1 < f.n}
	if p.HasMore {
		p.NextPageToken = "p" + strconv.Itoa(i+1)
	}
	b, _ := json.Marshal(p)
	return b
}

func (f *fakePages) lister() RawLister[int] {
	return RawLister[int]{
		Fetch: func(ctx context.Context, lp ListParams) ([]byte, error) {
			f.mu.Lock()
			f.fetched = append(f.fetched, lp.PageToken)
			ch := f.block[lp.PageToken]
			f.mu.Unlock()
			if f.started != nil {
				f.started <- lp.PageToken
			}
			if ch != nil {
				select {
				case <-ch:
				case <-ctx.Done():
					f.mu.Lock()
					f.cancels++
					f.mu.Unlock()
					return nil, ctx.Err()
				}
			}
			i := 0
			if lp.PageToken != "" {
				i, _ = strconv.Atoi(lp.PageToken[1:])
			}
			b := f.body(i)
			if tok, ok := f.badToken[i]; ok {
				// The early look sees another token than the decoder.
				b = []byte(fmt.Sprintf(`{"has_more":true,"next_page_token":%q,"values":[%d]}`, tok, i))
			}
			return b, nil
		},
		Decode: func(b []byte) (ListPage[int], error) {
			var p ListPage[int]
			if err := json.Unmarshal(b, &p); err != nil {
				return p, err
			}
			if p.NextPageToken != "" && p.NextPageToken[0] == 'x' { // a bad early token: the real one
				i := p.Values[0]
				p.NextPageToken = "p" + strconv.Itoa(i+1)
			}
			return p, nil
		},
	}
}

func drain(t *testing.T, p *Pager[int]) []int {
	t.Helper()
	var got []int
	for p.More() {
		page, err := p.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Values...)
	}
	return got
}

// TestPrefetchPagerSamePages: the same pages, each requested once, in
// order, as the plain pager.
func TestPrefetchPagerSamePages(t *testing.T) {
	f := &fakePages{n: 7}
	got := drain(t, NewPrefetchPager(ListParams{}, f.lister()))
	want := []int{0, 1, 2, 3, 4, 5, 6}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	if fmt.Sprint(f.fetched) != "[ p1 p2 p3 p4 p5 p6]" {
		t.Fatalf("requests %q", f.fetched)
	}
}

// TestPrefetchPagerOverlaps: the next page's request starts before the
// caller has this page (while it is decoded), not after.
func TestPrefetchPagerOverlaps(t *testing.T) {
	f := &fakePages{n: 3, started: make(chan string, 10)}
	l := f.lister()
	decode := l.Decode
	var p *Pager[int]
	l.Decode = func(b []byte) (ListPage[int], error) {
		pg, err := decode(b)
		if pg.HasMore {
			// Decoding page i: the request for page i+1 is already out.
			want := pg.NextPageToken
			for tok := range f.started {
				if tok == want {
					break
				}
			}
		}
		return pg, err
	}
	p = NewPrefetchPager(ListParams{}, l)
	if got := drain(t, p); len(got) != 3 {
		t.Fatalf("values %v", got)
	}
}

// TestPrefetchPagerClose: a request in flight when the caller stops is
// cancelled by Close, which waits for it.
func TestPrefetchPagerClose(t *testing.T) {
	f := &fakePages{n: 5, block: map[string]chan struct{}{"p1": make(chan struct{})}}
	p := NewPrefetchPager(ListParams{}, f.lister())
	if _, err := p.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if f.cancels != 1 {
		t.Fatalf("%d cancelled requests, want the one in flight", f.cancels)
	}
	p.Close() // twice is fine
}

// TestPrefetchPagerDisagreement: when the early look names another token
// than the decoded page, the prefetch is dropped and the decoded token is
// followed.
func TestPrefetchPagerDisagreement(t *testing.T) {
	f := &fakePages{n: 4, badToken: map[int]string{1: "x9"}}
	got := drain(t, NewPrefetchPager(ListParams{}, f.lister()))
	if fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("values %v", got)
	}
	// p1's body said x9: that request was made and dropped, p2 asked again.
	if fmt.Sprint(f.fetched) != "[ p1 x9 p2 p3]" {
		t.Fatalf("requests %q", f.fetched)
	}
}

// TestPrefetchPagerErrors: a failed prefetch is the next page's error,
// after this page was returned.
func TestPrefetchPagerErrors(t *testing.T) {
	f := &fakePages{n: 5}
	l := f.lister()
	fetch := l.Fetch
	l.Fetch = func(ctx context.Context, lp ListParams) ([]byte, error) {
		if lp.PageToken == "p2" {
			return nil, errors.New("boom")
		}
		return fetch(ctx, lp)
	}
	p := NewPrefetchPager(ListParams{}, l)
	for i := 0; i < 2; i++ {
		if _, err := p.Next(context.Background()); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	if _, err := p.Next(context.Background()); err == nil || err.Error() != "boom" {
		t.Fatalf("page 2: %v", err)
	}
	if p.More() {
		t.Fatal("more after an error")
	}
}
