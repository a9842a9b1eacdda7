package main
import (
 _ "github.com/charmbracelet/bubbletea"
 _ "github.com/charmbracelet/bubbles/key"
 _ "github.com/charmbracelet/bubbles/textinput"
 _ "github.com/charmbracelet/bubbles/spinner"
 _ "github.com/charmbracelet/lipgloss"
 _ "modernc.org/sqlite"
 _ "github.com/muesli/termenv"
 _ "github.com/charmbracelet/x/ansi"
 _ "github.com/mattn/go-runewidth"
)
func main(){}
