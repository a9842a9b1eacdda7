package veza

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ListParams are the query parameters of every LCM list endpoint (§1.1).
type ListParams struct {
	Filter    string // SCIM filter
	OrderBy   string // e.g. "created_at asc"
	PageSize  int    // 0: server default (100)
	PageToken string // next_page_token of the previous page
	Details   bool   // jobs only: include request/result payloads
}

func (p ListParams) query(r *Routes) url.Values {
	q := url.Values{}
	if p.Filter != "" {
		q.Set("filter", p.Filter)
	}
	if p.OrderBy != "" {
		q.Set(r.OrderByParam, p.OrderBy)
	}
	if p.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(p.PageSize))
	}
	if p.PageToken != "" {
		q.Set("page_token", p.PageToken) // Encode() escapes it
	}
	if p.Details {
		q.Set("details", "true")
	}
	return q
}

// Record is a decoded value together with the exact bytes it came from, so
// the cache can keep the server's object verbatim (fields this client does
// not model included).
type Record[T any] struct {
	Value T
	Raw   json.RawMessage
}

func (r *Record[T]) UnmarshalJSON(b []byte) error {
	// The decoder's buffer is reused after we return: copy before keeping.
	r.Raw = append(json.RawMessage(nil), b...)
	return json.Unmarshal(b, &r.Value)
}

// MarshalJSON writes the original bytes (or the value, for a Record built
// in code).
func (r Record[T]) MarshalJSON() ([]byte, error) {
	if len(r.Raw) == 0 {
		return json.Marshal(r.Value)
	}
	return r.Raw, nil
}

// listWire detects a 2xx body that is JSON but not a list envelope: a
// gRPC-gateway may omit false/empty fields, so "{}" is a valid last page,
// but an object with none of the envelope's keys is not.
type listWire[T any] struct {
	Values        *[]T    `json:"values"`
	HasMore       *bool   `json:"has_more"`
	NextPageToken *string `json:"next_page_token"`
}

func decodeList[T any](c *Client, name string, body []byte) (ListPage[T], error) {
	var w listWire[T]
	if !looksLikeObject(body) {
		return ListPage[T]{}, c.decodeError(name, notObject(body))
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return ListPage[T]{}, c.decodeError(name, err)
	}
	if w.Values == nil && w.HasMore == nil && w.NextPageToken == nil && !hasEnvelopeKey(body) {
		return ListPage[T]{}, c.decodeError(name, errors.New("response has none of values, has_more, next_page_token"))
	}
	var p ListPage[T]
	if w.Values != nil {
		p.Values = *w.Values
	}
	if w.HasMore != nil {
		p.HasMore = *w.HasMore
	}
	if w.NextPageToken != nil {
		p.NextPageToken = *w.NextPageToken
	}
	return p, nil
}

func decodeValue[T any](c *Client, name string, body []byte) (T, error) {
	var w struct {
		Value *T `json:"value"`
	}
	var zero T
	if !looksLikeObject(body) {
		return zero, c.decodeError(name, notObject(body))
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return zero, c.decodeError(name, err)
	}
	if w.Value == nil {
		return zero, c.decodeError(name, errors.New(`response has no "value"`))
	}
	return *w.Value, nil
}

// hasEnvelopeKey is the slow check for a page whose envelope fields are
// all null or absent: "{}" and {"values":null} are empty last pages, an
// object with other keys only is something else.
func hasEnvelopeKey(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	if len(m) == 0 {
		return true
	}
	for k := range m {
		for _, want := range []string{"values", "has_more", "next_page_token"} {
			if strings.EqualFold(k, want) {
				return true
			}
		}
	}
	return false
}

func list[T any](ctx context.Context, c *Client, name, path string, p ListParams) (ListPage[T], error) {
	body, err := c.get(ctx, name, path, p.query(&c.routes))
	if err != nil {
		return ListPage[T]{}, err
	}
	return decodeList[T](c, name, body)
}

func get[T any](ctx context.Context, c *Client, name, path string) (T, error) {
	body, err := c.get(ctx, name, path, nil)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeValue[T](c, name, body)
}

// ListTasks lists workflow tasks (§1.2).
func (c *Client) ListTasks(ctx context.Context, p ListParams) (ListPage[Task], error) {
	return list[Task](ctx, c, "list_tasks", c.routes.ListTasks, p)
}

// ListActions lists workflow action events (§1.3).
func (c *Client) ListActions(ctx context.Context, p ListParams) (ListPage[Action], error) {
	return list[Action](ctx, c, "list_actions", c.routes.ListActions, p)
}

// ListJobs lists integration job events (§1.4).
func (c *Client) ListJobs(ctx context.Context, p ListParams) (ListPage[Job], error) {
	return list[Job](ctx, c, "list_jobs", c.routes.ListJobs, p)
}

// ListTaskRecords is ListTasks keeping each object's raw bytes.
func (c *Client) ListTaskRecords(ctx context.Context, p ListParams) (ListPage[Record[Task]], error) {
	return listRecords[Task](ctx, c, "list_tasks", c.routes.ListTasks, p)
}

// ListActionRecords is ListActions keeping each object's raw bytes.
func (c *Client) ListActionRecords(ctx context.Context, p ListParams) (ListPage[Record[Action]], error) {
	return listRecords[Action](ctx, c, "list_actions", c.routes.ListActions, p)
}

// ListJobRecords is ListJobs keeping each object's raw bytes.
func (c *Client) ListJobRecords(ctx context.Context, p ListParams) (ListPage[Record[Job]], error) {
	return listRecords[Job](ctx, c, "list_jobs", c.routes.ListJobs, p)
}

// GetTask fetches one workflow task.
func (c *Client) GetTask(ctx context.Context, id string) (Record[Task], error) {
	path, err := expand("get_task", c.routes.GetTask, "id", id)
	if err != nil {
		return Record[Task]{}, err
	}
	return get[Record[Task]](ctx, c, "get_task", path)
}

// GetAction fetches one action event by its key; actionName is path-escaped,
// so names with spaces or slashes address the right action.
func (c *Client) GetAction(ctx context.Context, policyTask, actionName string) (Record[Action], error) {
	path, err := expand("get_action", c.routes.GetAction, "policy_task", policyTask, "action_name", actionName)
	if err != nil {
		return Record[Action]{}, err
	}
	return get[Record[Action]](ctx, c, "get_action", path)
}

// GetJob fetches one job; the reply always carries request and result.
func (c *Client) GetJob(ctx context.Context, id string) (Record[Job], error) {
	path, err := expand("get_job", c.routes.GetJob, "job_id", id)
	if err != nil {
		return Record[Job]{}, err
	}
	return get[Record[Job]](ctx, c, "get_job", path)
}

// Restart re-runs an ERRORED or COMPLETED task. It is not idempotent (each
// call may start a run), so it is retried only on 429/503 or a failed dial.
// The reply's task is returned when the server sends one.
func (c *Client) Restart(ctx context.Context, taskID string) (*Task, error) {
	path, err := expand("restart_task", c.routes.RestartTask, "id", taskID)
	if err != nil {
		return nil, err
	}
	body, err := c.post(ctx, "restart_task", path, struct{}{}, false)
	if err != nil {
		return nil, err
	}
	return optionalValue[Task](c, "restart_task", body)
}

// Unblock actions (RUN or ABANDON) the given BLOCKED tasks.
func (c *Client) Unblock(ctx context.Context, ids []string, action string) error {
	if len(ids) == 0 {
		return errors.New("veza unblock_tasks: no task ids")
	}
	if action != "RUN" && action != "ABANDON" {
		return fmt.Errorf("veza unblock_tasks: action %q is not RUN or ABANDON", action)
	}
	for _, id := range ids {
		if id == "" {
			return errors.New("veza unblock_tasks: empty task id")
		}
	}
	_, err := c.post(ctx, "unblock_tasks", c.routes.UnblockTasks, struct {
		TaskIDs []string `json:"task_ids"`
		Action  string   `json:"action"`
	}{ids, action}, false)
	return err
}

// PushBody is the result a webhook-based integration reports for a job (§1.4).
type PushBody struct {
	JobID          string   `json:"job_id"`
	ActionType     string   `json:"action_type"`
	OutputEntities []Entity `json:"output_entities"`
	AnyChanges     bool     `json:"any_changes"`
	AnyCreated     bool     `json:"any_created"`
}

// PushResult reports a job's result. Like every write it is resent only when
// the server cannot have applied it (429, 503, failed dial): a second push of
// an already-applied result would fail confusingly.
func (c *Client) PushResult(ctx context.Context, jobID string, b PushBody) error {
	path, err := expand("push_job_result", c.routes.PushJobResult, "job_id", jobID)
	if err != nil {
		return err
	}
	if b.JobID == "" {
		b.JobID = jobID
	} else if b.JobID != jobID {
		return fmt.Errorf("veza push_job_result: body job_id %q does not match %q", b.JobID, jobID)
	}
	if b.OutputEntities == nil {
		b.OutputEntities = []Entity{} // the example sends [], not null
	}
	_, err = c.post(ctx, "push_job_result", path, ValueEnvelope[PushBody]{Value: b}, false)
	return err
}

// optionalValue decodes {"value": T} when the body has one; an empty body or
// an object without "value" is a success with nothing to report.
func optionalValue[T any](c *Client, name string, body []byte) (*T, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var w struct {
		Value *T `json:"value"`
	}
	if !looksLikeObject(body) {
		return nil, c.decodeError(name, notObject(body))
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, c.decodeError(name, err)
	}
	return w.Value, nil
}
