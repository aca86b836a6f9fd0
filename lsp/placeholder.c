/* Placeholder so the library is never empty; removed when the folder has code. */
typedef int ls__lsp_placeholder;
