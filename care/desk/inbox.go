package desk

import (
	"context"
	"encoding/json"
	"time"

	"github.com/branchline/branchline/care/triage"
	"github.com/branchline/branchline/models"
)

// Item is an inbound message as the inbox shows it and `branchline inbox
// --json` prints it.
type Item struct {
	ID             int64           `json:"id"`
	Platform       string          `json:"platform"`
	Account        string          `json:"account"`
	PlatformID     string          `json:"platform_id"`
	ConversationID int64           `json:"conversation_id"`
	CustomerID     *int64          `json:"customer_id,omitempty"`
	Author         string          `json:"author"`
	AuthorID       string          `json:"author_id,omitempty"`
	Text           string          `json:"text"`
	Rating         int             `json:"rating,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	Kind           string          `json:"kind"`
	NeedsResponse  bool            `json:"needs_response"`
	Stage          string          `json:"stage"`
	Department     string          `json:"department"`
	Sentiment      float64         `json:"sentiment"`
	Crisis         string          `json:"crisis"`
	Priority       int             `json:"priority"`
	Listening      []triage.Hit    `json:"listening"`
	Reasons        []triage.Reason `json:"reasons"`
	Status         string          `json:"status"`
	ReplyID        *int64          `json:"reply_id,omitempty"`
	ReplyState     string          `json:"reply_state,omitempty"`
	AnsweredAt     *time.Time      `json:"answered_at,omitempty"`
	Escalated      bool            `json:"escalated"`
	AssigneeID     *int64          `json:"assignee_id,omitempty"`
	Assignee       string          `json:"assignee,omitempty"`
	// ConversationDepartment is the department the conversation is with,
	// when one was set.
	ConversationDepartment string `json:"conversation_department,omitempty"`
	// Waiting counts the direct messages waiting in the conversation.
	Waiting int    `json:"waiting,omitempty"`
	Cursor  string `json:"cursor"`
}

// ItemOf converts a stored row.
func ItemOf(r models.MessageRow) Item {
	it := Item{
		ID: r.ID, Platform: r.Platform, Account: r.AccountHandle, PlatformID: r.PlatformID, ConversationID: r.ConversationID,
		CustomerID: r.CustomerID, Author: r.AuthorName, AuthorID: r.AuthorID, Text: r.Text, Rating: r.Rating,
		CreatedAt: r.CreatedAt.UTC(), Kind: r.Kind, NeedsResponse: r.NeedsResponse, Stage: r.Stage, Department: r.Department,
		Sentiment: r.Sentiment, Crisis: r.Crisis, Priority: r.Priority, Status: r.Status, ReplyID: r.ReplyID,
		AnsweredAt: r.AnsweredAt, Escalated: r.Escalated, AssigneeID: r.AssigneeID, Assignee: r.AssigneeName,
		ConversationDepartment: r.ConversationDepartment, Waiting: r.Waiting,
		Cursor:    models.Cursor(r.Message),
		Listening: []triage.Hit{}, Reasons: []triage.Reason{},
	}
	if r.ReplyState != nil {
		it.ReplyState = *r.ReplyState
	}
	// Stored by this program; a row it cannot read keeps empty lists.
	_ = json.Unmarshal([]byte(r.Listening), &it.Listening)
	_ = json.Unmarshal([]byte(r.Reasons), &it.Reasons)
	return it
}

// Inbox returns a page of the inbox and the cursor of the next page.
func (d *Desk) Inbox(ctx context.Context, q models.InboxQuery) ([]Item, string, error) {
	rows, next, err := d.store.Inbox(ctx, q)
	if err != nil {
		return nil, "", err
	}
	items := make([]Item, len(rows))
	for i, r := range rows {
		items[i] = ItemOf(r)
	}
	return items, next, nil
}

// Message returns one message as an inbox item.
func (d *Desk) Message(ctx context.Context, id int64) (Item, error) {
	r, err := d.store.MessageByID(ctx, id)
	if err != nil {
		return Item{}, err
	}
	return ItemOf(r), nil
}
