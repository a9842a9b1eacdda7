package jsontree

import (
	"fmt"
	"testing"
)

func TestPrint(t *testing.T) {
	req := `{"id": 12345678901234567890, "input_entities":[{"type":"user","attributes":{"first name":"Ann\u001b]0;x\u0007","last":"日本語","n":1.50e10,"ok":true,"nil":null,"empty":{},"arr":[]}}], "big":"` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `"}`
	m := New(DefaultKeyMap(), DefaultStyles()).SetSize(60, 16).SetDocs(Doc{"request", []byte(req)}, Doc{"result", []byte(`{"status": "ERRORED", "error": {"msg": "x"`)})
	fmt.Println(m.View())
	for i := 0; i < 5; i++ {
		m, _ = m.Update(keyMsg("j"))
	}
	fmt.Println(m.SelectedPath(), "=", m.SelectedValue())
	m, _ = m.Update(keyMsg("E"))
	fmt.Println(m.View())
	m, _ = m.Update(keyMsg("/"))
	for _, r := range "ann" {
		m, _ = m.Update(keyMsg(string(r)))
	}
	fmt.Println(m.View())
	m, _ = m.Update(keyMsg("enter"))
	fmt.Println(m.View())
	fmt.Println(m.SelectedPath(), "=", m.SelectedValue())
}
