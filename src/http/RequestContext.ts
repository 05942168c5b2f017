import { Context } from "effect"

/** The id of the request being served: the client's `x-request-id` when sane, else a generated one. */
export const RequestId = Context.Reference<string>("gateway/http/RequestId", { defaultValue: () => "" })

const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/

export const chooseRequestId = (fromClient: string | undefined): string =>
  fromClient !== undefined && saneRequestId.test(fromClient)
    ? fromClient
    : `req_${crypto.randomUUID().replaceAll("-", "")}`
