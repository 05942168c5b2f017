/**
 * A doubly-linked list whose elements carry their own links: adding and removing any element costs no
 * allocation and no search, which is why the per-request lists of the billing path (the ledger's waiting
 * requests, the holds due for renewal) are made of it.
 */
export interface Linked<N> {
  previous: N | undefined
  next: N | undefined
  /** On the list: removing an element that is not is a no-op. */
  listed: boolean
}

export class LinkedList<N extends Linked<N>> {
  first: N | undefined = undefined
  last: N | undefined = undefined

  /** Puts `node` right after `before`, or first when `before` is undefined. */
  insertAfter(before: N | undefined, node: N) {
    node.previous = before
    node.next = before === undefined ? this.first : before.next
    if (before === undefined) this.first = node
    else before.next = node
    if (node.next === undefined) this.last = node
    else node.next.previous = node
    node.listed = true
  }

  append(node: N) {
    this.insertAfter(this.last, node)
  }

  remove(node: N) {
    if (!node.listed) return
    if (node.previous === undefined) this.first = node.next
    else node.previous.next = node.next
    if (node.next === undefined) this.last = node.previous
    else node.next.previous = node.previous
    node.previous = undefined
    node.next = undefined
    node.listed = false
  }
}
