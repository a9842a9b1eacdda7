package veza

import (
	"github.com/opsdeck/opsdeck/internal/jsonscan"

	"bytes"
	"context"
	"encoding/json"
)

// splitValues returns the bytes of each element of the top-level "values"
// array of body, which encoding/json has already accepted as valid. It lets
// a list page be decoded once into typed values while each value's exact
// bytes are kept: decoding into Record instead costs four passes over the
// page (validate, skip, validate again, decode) where this costs two plus
// this cheap one. ok is false when the shape is not the plain one (then the
// caller takes the slow path, which handles anything encoding/json does).
func splitValues(body []byte) (vals [][]byte, ok bool) {
	i := jsonscan.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i++
	found := 0
	for {
		i = jsonscan.SkipSpace(body, i)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] == ',' {
			i = jsonscan.SkipSpace(body, i+1)
		}
		kEnd, ok := jsonscan.SkipValue(body, i)
		if !ok || body[i] != '"' {
			return nil, false
		}
		key := body[i+1 : kEnd-1]
		i = jsonscan.SkipSpace(body, kEnd)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = jsonscan.SkipSpace(body, i+1)
		vEnd, ok := jsonscan.SkipValue(body, i)
		if !ok {
			return nil, false
		}
		// encoding/json matches keys case-insensitively; escaped keys are
		// left to the slow path.
		if bytes.IndexByte(key, '\\') >= 0 {
			return nil, false
		}
		if bytes.EqualFold(key, []byte("values")) {
			found++
			if vals, ok = splitArray(body[i:vEnd]); !ok {
				return nil, false
			}
		}
		i = vEnd
	}
	// A repeated key is legal JSON but not worth matching encoding/json's
	// exact semantics for.
	return vals, found <= 1
}

func splitArray(b []byte) ([][]byte, bool) {
	if string(b) == "null" {
		return nil, true
	}
	if len(b) < 2 || b[0] != '[' {
		return nil, false
	}
	var out [][]byte
	i := 1
	for {
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ']':
			return out, true
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		}
		end, ok := jsonscan.SkipValue(b, i)
		if !ok {
			return nil, false
		}
		out = append(out, b[i:end:end])
		i = end
	}
}

// listRecords is list for Record[T]: one typed decode of the page plus a
// split of the raw bytes. The Raw slices alias the response body, which is
// not reused: a page's rows keep one buffer alive, not one per row.
func listRecords[T any](ctx context.Context, c *Client, name, path string, p ListParams) (ListPage[Record[T]], error) {
	body, err := c.get(ctx, name, path, p.query(&c.routes))
	if err != nil {
		return ListPage[Record[T]]{}, err
	}
	return decodeRecords[T](c, name, body)
}

func decodeRecords[T any](c *Client, name string, body []byte) (ListPage[Record[T]], error) {
	if _, isJob := any((*T)(nil)).(*Job); isJob {
		if p, ok := fastJobPage(body); ok { // fastjob.go
			return any(p).(ListPage[Record[T]]), nil
		}
	}
	page, err := decodeList[T](c, name, body)
	if err != nil {
		return ListPage[Record[T]]{}, err
	}
	raws, ok := splitValues(body)
	if !ok || len(raws) != len(page.Values) {
		return decodeList[Record[T]](c, name, body)
	}
	out := ListPage[Record[T]]{HasMore: page.HasMore, NextPageToken: page.NextPageToken}
	if page.Values != nil {
		out.Values = make([]Record[T], len(raws))
		for i := range raws {
			out.Values[i] = Record[T]{Value: page.Values[i], Raw: json.RawMessage(raws[i])}
		}
	}
	return out, nil
}
