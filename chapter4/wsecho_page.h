/*
 * wsecho_page.h: the page wsecho serves at GET / (ex4.6), one self-contained HTML file with its
 * script inline: it opens a WebSocket to the host it came from, sends each line typed in the
 * box as a text message and shows what comes back. Given: nothing to do here.
 */
#ifndef SVRLAB_WSECHO_PAGE_H
#define SVRLAB_WSECHO_PAGE_H

static const char wsecho_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>wsecho</title>\n"
    "<style>\n"
    "body { font: 16px sans-serif; max-width: 42em; margin: 2em auto; padding: 0 1em; }\n"
    "#log { border: 1px solid #bbb; height: 20em; overflow: auto; padding: .5em;\n"
    "       font-family: monospace; white-space: pre-wrap; }\n"
    ".out { color: #555; } .in { color: #070; } .note { color: #a00; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>wsecho</h1>\n"
    "<p>A WebSocket echo (svrlab, chapter 4): what you type goes to the server as a text\n"
    "message over a WebSocket, through io_conn and the shared-memory queues to wsecho, and\n"
    "comes back the same way.</p>\n"
    "<form id=\"form\"><input id=\"text\" size=\"40\" autocomplete=\"off\" autofocus>\n"
    "<button>Send</button> <button type=\"button\" id=\"close\">Close</button></form>\n"
    "<p>State: <span id=\"state\">connecting</span></p>\n"
    "<div id=\"log\"></div>\n"
    "<script>\n"
    "\"use strict\";\n"
    "const log = document.getElementById(\"log\");\n"
    "const state = document.getElementById(\"state\");\n"
    "const text = document.getElementById(\"text\");\n"
    "function show(cls, line) {\n"
    "  const div = document.createElement(\"div\");\n"
    "  div.className = cls;\n"
    "  div.textContent = line;\n"
    "  log.appendChild(div);\n"
    "  log.scrollTop = log.scrollHeight;\n"
    "}\n"
    "const scheme = location.protocol === \"https:\" ? \"wss://\" : \"ws://\";\n"
    "const ws = new WebSocket(scheme + location.host + \"/\");\n"
    "ws.onopen = () => { state.textContent = \"open\"; };\n"
    "ws.onmessage = (ev) => show(\"in\", \"<- \" + ev.data);\n"
    "ws.onerror = () => show(\"note\", \"error (the browser's console says more)\");\n"
    "ws.onclose = (ev) => {\n"
    "  state.textContent = \"closed, code \" + ev.code + (ev.reason ? \" \" + ev.reason : \"\");\n"
    "};\n"
    "document.getElementById(\"form\").onsubmit = (ev) => {\n"
    "  ev.preventDefault();\n"
    "  if (ws.readyState !== WebSocket.OPEN || text.value === \"\") return;\n"
    "  ws.send(text.value);\n"
    "  show(\"out\", \"-> \" + text.value);\n"
    "  text.value = \"\";\n"
    "};\n"
    "document.getElementById(\"close\").onclick = () => ws.close(1000, \"bye\");\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

#endif
