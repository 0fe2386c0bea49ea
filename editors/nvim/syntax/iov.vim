" Vim syntax file for iov (.iov files), for Neovim and Vim. It mirrors the categories of the
" TextMate grammar grammar/iov.tmLanguage.json (see grammar/README.md), which editors that read
" TextMate use; change both together. Where two items start at the same column, the one defined
" later wins, and keywords beat both: so general patterns come first, special ones after.

if exists('b:current_syntax')
  finish
endif
let s:cpo_save = &cpo
set cpo&vim

syn case match

" Names, calls and types (the general patterns first).
syn match iovFunction "\<\h\w*\ze\s*\%(<[[:alnum:]_ ,<>]*>\)\=\s*("
syn match iovTypeName "\<\h\w*\ze\s\+\h\w*\s*[;=,)]"
syn match iovTypeName "\<\u\w*\l\w*\ze\s*\.\s*\h"
syn match iovTypeName "\<\h\w*_t\>"
syn match iovConstant "\<\u[A-Z0-9_]*[A-Z0-9]\>"
syn match iovFunction "\%(\.\s*\)\@<=\h\w*\ze\s*\%(<[[:alnum:]_ ,<>]*>\)\=\s*("
syn match iovHook "\<\%(xdp\|tc_ingress\|tc_egress\)\ze\s*("
syn keyword iovExternType packet_in packet_out counter direct_counter register meter digest internet_checksum

" Keywords.
syn keyword iovControl if else switch return exit transition select default
syn keyword iovImport import
syn keyword iovDeclaration header struct enum typedef type extern parser control deparser action table state
syn keyword iovConst const
syn keyword iovDirection in out inout
syn keyword iovPrimitive bit int bool error void
syn keyword iovProperty key actions default_action entries priority
syn match iovApply "\%(\.\s*\)\@<!\<apply\>\%(\s*(\)\@!"
syn match iovApply "\%(\.\s*\)\@<!\<lookahead\>\%(\s*[<(]\)\@!"
syn keyword iovBoolean true false
syn match iovDontCare "\<_\>"

" Declared names.
syn match iovTypeDecl "\%(\<\%(header\|struct\|parser\|control\|deparser\)\s\+\)\@<=\h\w*"
syn match iovTypeDecl "\%(\<extern\s\+\)\@<=\h\w*\ze\s*[<{]"
syn match iovTypeDecl "\%(\<enum\s\+\%(\%(bit\|int\)\s*<[^>]*>\s*\)\=\)\@<=\h\w*"
syn match iovTypeDecl "\%(\<\%(typedef\|type\)\>.*\)\@<=\<\h\w*\ze\s*;"
syn match iovFunctionDecl "\%(\<\%(action\|table\)\s\+\)\@<=\h\w*"
syn match iovStateName "\%(\<\%(state\|transition\)\s\+\)\@<=\h\w*"
syn match iovStateBuiltin "\%(\<transition\s\+\)\@<=\%(accept\|reject\)\>"
syn match iovErrorName "\%(\<error\s*\.\s*\)\@<=\h\w*"
syn region iovErrorMembers matchgroup=iovDelimiter start="\%(\<error\s*\)\@<={" end="}" contains=iovErrorMember,iovLineComment,iovBlockComment
syn match iovErrorMember "\<\h\w*\>" contained
syn match iovMatchKind "\%(:\s*\)\@<=\%(exact\|lpm\|ternary\|range\|optional\)\ze\s*;"

" The cases of `transition select(...) { keyset: state; }`.
syn region iovSelectCases matchgroup=iovDelimiter start="\%(\<select\s*(.*)\s*\)\@<={" end="}" contains=ALLBUT,iovTodo,iovWidth,iovErrorMember
syn match iovSelectTarget "\%(:\s*\)\@<=\h\w*\ze\s*;" contained containedin=iovSelectCases
syn match iovStateBuiltin "\%(:\s*\)\@<=\%(accept\|reject\)\ze\s*;" contained containedin=iovSelectCases

" Operators, longest first within a pattern.
syn match iovOperator "&&&\|\.\.\||[+-]|\|++\|&&\|||\|==\|!=\|<<\|>>\|<=\|>=\|[-+*/%&|^~!<>=?]"

" Numbers and addresses: after operators (`..`, `/`) and names (`fe80`).
syn match iovInvalidNumber "\<\d\w*"
syn match iovNumber "\<\%(\d\+[wWsS]\)\=\d[0-9_]*\>" contains=iovWidth
syn match iovNumber "\<\%(\d\+[wWsS]\)\=0[xX][0-9a-fA-F_]\+\>" contains=iovWidth
syn match iovNumber "\<\%(\d\+[wWsS]\)\=0[bB][01_]\+\>" contains=iovWidth
syn match iovNumber "\<\%(\d\+[wWsS]\)\=0[oO][0-7_]\+\>" contains=iovWidth
syn match iovWidth "\<\d\+[wWsS]" contained
syn match iovAddress "\%(\w\|[^.]\.\)\@<!\d\+\%(\.\d\+\)\{3}\>"
syn match iovAddress "\%(\w\|[:.]\)\@<!\%(\%(\x\{1,4}:\)\{7}\x\{1,4}\|\%(\x\{1,4}\%(:\x\{1,4}\)*\)\=::\%(\x\{1,4}\%(:\x\{1,4}\)*\)\=\)\%(\w\|:\)\@!"
syn match iovAddress "\%(\w\|[:.]\)\@<!\x\x\%(:\x\x\)\{5}\%(\w\|:\)\@!"
syn match iovPrefix "\%(\w\|[:.]\)\@<!\d\+\%(\.\d\+\)\{3}/\d\+\>"
syn match iovPrefix "\%(\w\|[:.]\)\@<!\%(\%(\x\{1,4}:\)\{7}\x\{1,4}\|\%(\x\{1,4}\%(:\x\{1,4}\)*\)\=::\%(\x\{1,4}\%(:\x\{1,4}\)*\)\=\)/\d\+\>"

" Comments last: `//` beats the `/` operator.
syn keyword iovTodo TODO FIXME XXX NOTE contained
syn match iovLineComment "//.*$" contains=iovTodo,@Spell
syn region iovBlockComment start="/\*" end="\*/" contains=iovTodo,@Spell

hi def link iovLineComment Comment
hi def link iovBlockComment Comment
hi def link iovTodo Todo
hi def link iovControl Statement
hi def link iovImport Include
hi def link iovDeclaration Structure
hi def link iovConst StorageClass
hi def link iovDirection StorageClass
hi def link iovPrimitive Type
hi def link iovProperty Keyword
hi def link iovApply Keyword
hi def link iovBoolean Boolean
hi def link iovDontCare Special
hi def link iovStateBuiltin Constant
hi def link iovNumber Number
hi def link iovWidth Type
hi def link iovAddress Number
hi def link iovPrefix Number
hi def link iovInvalidNumber Error
hi def link iovOperator Operator
hi def link iovTypeName Type
hi def link iovExternType Type
hi def link iovTypeDecl Typedef
hi def link iovFunctionDecl Function
hi def link iovStateName Label
hi def link iovSelectTarget Label
hi def link iovErrorName Constant
hi def link iovErrorMember Constant
hi def link iovMatchKind Special
hi def link iovHook Special
hi def link iovFunction Function
hi def link iovConstant Constant
hi def link iovDelimiter Delimiter

let b:current_syntax = 'iov'
let &cpo = s:cpo_save
unlet s:cpo_save
