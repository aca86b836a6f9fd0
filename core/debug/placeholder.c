/* Placeholder so the object library is never empty; removed when the folder has code. */
typedef int ls__debug_placeholder;
