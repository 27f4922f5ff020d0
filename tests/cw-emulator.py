#!/usr/bin/env python3
"""cw-emulator: a ConnectWise Manage REST API emulator for dq's test suite.

Standard library only.  It serves one data file (tests/fixtures/cw-data.json
is the default fixture) on a loopback port, under the path prefix
/v4_6_release/apis/3.0, and behaves like the real server as far as dq cares:
Basic auth plus clientId, conditions / childConditions /
customFieldConditions, orderBy, fields, navigable and forward-only paging
with Link headers, /count, JSON-Patch PATCH of tickets, POST of schedule
entries and ticket notes, POST service/tickets/search, DELETE of schedule
entries and notes, ConnectWise-shaped error bodies.  The facts it
follows are in shared/reference/connectwise-api.md; the points where that
reference is UNCONFIRMED, and what this emulator does there, are listed under
"Emulation choices" below.

Usage
-----
  cw-emulator.py --data FILE.json [--port 0] [--port-file PATH] [--log PATH]
                 [--latency-ms N] [--fault SPEC ...] [--now TIME]
                 [--retry-after S] [--page-size-over-max clamp|reject]
                 [--require-accept] [--no-gzip] [--verbose]

  The server binds 127.0.0.1:PORT (0 picks a free port).  Once it listens it
  writes the port number and a newline to --port-file (atomically, via a
  rename), so a test can poll for that file.  SIGTERM or SIGINT stop it.

Data file
---------
  {"credentials": {"company": "...", "publicKey": "...", "privateKey": "...",
                   "clientId": "..."},
   "server": {"version": "2026.4",
              "apiMember": {"id": 111, "identifier": "dqapi"}},
   "resources": {"service/tickets": [ {...}, ... ],
                 "service/boards/1/statuses": [ ... ],
                 "system/info": { ... },
                 ...}}

  Each key of "resources" is an API path below the prefix.  A list is a
  collection (list, /count, /{id}); an object is served as is by GET.
  Child collections are keyed by their concrete path (board 1's statuses
  live under "service/boards/1/statuses"); a child collection missing from
  the file is empty as long as its parent record exists.  Collections not
  in ROUTES below are still served, with field names taken from the data.
  apiMember is the member the API keys belong to: it is the updatedBy,
  enteredBy and closedBy of writes and the member of notes posted without
  one.  Other top-level keys (a "description") are ignored.

Authentication
--------------
  Every request under the prefix needs "Authorization: Basic
  base64(company+publicKey:privateKey)" (the company compared without
  regard to case) and a "clientId" header equal to the data file's (any
  case), else 401: {"code": "ConnectWiseApi", "message":
  "UserNotAuthenticated", "errors": null} for the credentials, {"code":
  "Unauthorized", ...} for the clientId.  GET /login/companyinfo/{company}
  needs none and answers the codebase (or null for another company).

Faults (--fault, repeatable; also POST /__control/fault)
--------------------------------------------------------
  CODE[@METHOD]:REGEX[:N]      answer HTTP CODE (400-599) to the next N
                               requests whose path matches REGEX.  429 comes
                               with "Retry-After: 1" and the {"error": ...}
                               body; other codes with a {"code": ...} body.
  reset[@METHOD]:REGEX[:N]     close the connection without any reply.
  drop[@METHOD]:REGEX[:N]      act on the request (a write is made), then
                               close the connection without any reply: an
                               answer lost on the way back.
  stall[@METHOD]:REGEX[:N]     act on the request, log it, then hold the
                               reply until the faults are cleared (DELETE
                               /__control/fault, {"clear": true} or a
                               reset) or 60 s pass, and close the
                               connection without it: a client killed
                               while waiting for an answer.
  latency:MS[:REGEX[:N]]       delay matching requests (all, without REGEX)
                               by MS milliseconds; adds to --latency-ms.

  REGEX is searched (re.search) in the request path relative to the API
  base, without query string or leading slash, e.g. "service/tickets$" or
  "^service/tickets/\\d+$".  N is a count or "*" (the default: forever).
  METHOD restricts the fault to one HTTP method (GET, PATCH, POST, ...).
  Faults are checked in the order given, before authentication; the first
  matching status/reset fault wins and uses up one of its N.

Control endpoints (no auth, not in the request log, no faults)
--------------------------------------------------------------
  GET  /__control/requests    {"requests": [...], "in_flight": k,
                               "max_in_flight": n}
  POST /__control/reset       re-read the data file, keep only the faults
                              from the command line, empty the log
  POST /__control/reset-log   empty the request log (memory and --log file)
                              and reset max_in_flight
  POST /__control/fault       {"spec": "429:service/tickets:2"} or
                              {"specs": [...]} or {"status": 500,
                              "path": REGEX, "count": N, "method": "PATCH",
                              "retry_after": S, "body": {...}} (body: the
                              JSON to answer instead of the standard one,
                              e.g. an InvalidObject with errors[]; with
                              status 200, any JSON served as the reply,
                              for replies of the wrong shape) or
                              {"latency_ms": MS} or
                              {"clear": true}; answers the active faults
  GET  /__control/faults      the active faults
  DELETE /__control/fault     remove all faults
  GET  /__control/data[?path=P]   the current data (after writes)
  POST /__control/data        {"path": P, "value": V} replaces resource P, or
                              {"path": "service/tickets/5001",
                               "merge": {...}} merges into one record
  POST /__control/shutdown    stop the server

Request log
-----------
  One JSON object per API request, appended to --log (flushed per request)
  and kept in memory before the reply is sent, so a client that has its
  answer finds the request logged: seq, method, path, query (raw), params (decoded),
  status, start_ms / end_ms / duration_ms (monotonic milliseconds since the
  emulator started), in_flight (requests being served when this one began,
  itself included), max_in_flight (the highest in_flight so far), auth
  ("ok", "missing" or "bad"; never the credentials), client_id ("ok",
  "missing" or "bad"; never the value), accept, accept_version,
  content_type, pagination_type, items (rows returned by a list), body (the
  decoded JSON body of a write), fault (the injected fault, if any) and
  notes (emulator remarks, e.g. an ignored PATCH sub-path).

Emulation choices (where the reference is UNCONFIRMED or silent)
----------------------------------------------------------------
  * pageSize > 1000 is clamped to 1000 (DJ: "never returns more than 1000
    rows"); --page-size-over-max reject answers 400 instead.  pageSize < 1
    or missing means 25; page < 1 means 1; a non-integer is a 400.
  * Navigable Link header: rel="first" and rel="last" always, rel="prev" and
    rel="next" when they apply (DG); every URL carries pageSize and ends in
    page=N, the form pyconnectwise parses.
  * Forward-only (header "pagination-type: forward-only"): page is ignored,
    orderBy is a 400, rows come in id order after pageId, and Link holds
    <...&pageId=LAST>; rel="next" while more rows exist and is sent empty on
    the last page (PS follows Link "until the header is empty").
  * Conditions: strings compare case-insensitively (SQL Server collation).
    A comparison with a missing/null field is false except "= null" (SQL
    NULL semantics; so "owner/id != 5" skips unowned tickets).  Inside a
    quoted string a backslash escapes the quote character or a backslash
    (the MCP convention); "like" uses SQL LIKE patterns (% _ [set]), so
    "[[]" is a literal "[" there, and "contains X" is "like %X%".  In =, !=
    and in, "[[]" also stands for "[" (DG escaping table).  Field names are
    case-sensitive; a field the resource does not have is a 400, and so is a
    value of the wrong kind (unquoted string, quoted datetime, ...).  Array
    fields can only be filtered through childConditions, where a comparison
    holds if any element satisfies it.  customFieldConditions hold if one
    element of customFields satisfies the whole expression.
  * orderBy takes several "field [asc|desc]" keys separated by commas;
    nulls sort first; the default order is id ascending.
  * fields: unknown names are a 400; "_info/x" is allowed.  Conditions
    name _info keys bare (lastUpdated, dateEntered), the form the
    reference confirms; "_info/lastUpdated" there is a 400.
  * Accept: any value is accepted (the server answers the latest version
    when none is given) and recorded; --require-accept makes a missing
    "application/vnd.connectwise.com+json; version=..." a 406.
  * PATCH: paths with or without a leading "/"; op is add, replace or
    remove; id, _info, closedFlag, closedDate and closedBy cannot be
    written (400: close or reopen by status).  A sub-path into a
    reference ("owner/id") is ignored with a 200, the "false 200" DG warns
    about, and noted in the log.  The whole ticket is revalidated after
    the patch: status and team must belong to the board, the owner must
    exist (and be active when set by this patch), and a status set by the
    patch must not be inactive.  closedFlag follows the status's
    closedStatus; closedDate/closedBy are set on closing and removed on
    reopening.  Writes never add the owner to "resources" (UNCONFIRMED in
    the reference).
  * POST schedule/entries needs type, member, dateStart and dateEnd (and
    objectId naming an existing ticket for type "S"); dates must be
    YYYY-MM-DDTHH:MM:SSZ (ERR); an omitted allowScheduleConflictsFlag counts
    as false, so an overlapping open entry of the same member is a 400.
    Fields outside the model are dropped, as ASP.NET model binding does.
  * A TimeZoneSetup's timeZone reference names a Windows zone id
    ("GMT Standard Time"), as system/info's serverTimeZone does; the
    reference leaves its target UNCONFIRMED.  A member's timeZone is a
    reference to a setup, carrying the setup's name.
  * POST notes needs text and one of detailDescriptionFlag,
    internalAnalysisFlag, resolutionFlag.
  * A write body must have a JSON Content-Type, else 415 (libcurl posts
    application/x-www-form-urlencoded by default).
  * The In/Out board has no start, only dateBack (the reference finds
    no dateStart); entries stay listed after dateBack has passed, so a
    client asks for dateBack>[now].  An entry's inOutType reference
    carries the name the data file gives it, the type's description.
  * Responses are compact JSON, Content-Type
    "application/vnd.connectwise.com+json; version=V; charset=utf-8" (V as
    asked for in Accept, else the data file's server version, which is
    also sent as api-current-version), gzip when the client accepts it;
    null fields are left out as in the data.
"""

import argparse
import base64
import copy
import datetime as dt
import functools
import gzip
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from loopback import Server, read_body, serve
from urllib.parse import parse_qsl, quote, unquote, urlsplit

API_PREFIX = "/v4_6_release/apis/3.0/"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000
DEFAULT_VERSION = "2026.4"
VND_TYPE = "application/vnd.connectwise.com+json"


# ---------------------------------------------------------------------------
# Models.  Field name -> kind, from the 2026.4 OpenAPI cut (GET26) and, for
# the resources that cut lacks, from connectwise-api.md section 6.  Kinds:
# s string, d date-time string, n number, b boolean, r reference object
# ({id, name|identifier, ...}), o other object, a array, x present but not
# usable in conditions.  Fields found in the data file are added to these.

SCHEMA_TEXT = {
    "Ticket": """
        id:n summary:s recordType:s board:r status:r workRole:r workType:r
        company:r site:r siteName:s addressLine1:s addressLine2:s city:s
        stateIdentifier:s zip:s country:r contact:r contactName:s
        contactPhoneNumber:s contactPhoneExtension:s contactEmailAddress:s
        type:r subType:r item:r team:r owner:r priority:r serviceLocation:r
        source:r requiredDate:d budgetHours:n opportunity:r agreement:r
        agreementType:s severity:s impact:s externalXRef:s poNumber:s
        knowledgeBaseCategoryId:n knowledgeBaseSubCategoryId:n
        allowAllClientsPortalView:b customerUpdatedFlag:b
        automaticEmailContactFlag:b automaticEmailResourceFlag:b
        automaticEmailCcFlag:b automaticEmailCc:s initialDescription:s
        initialInternalAnalysis:s initialResolution:s initialDescriptionFrom:s
        contactEmailLookup:s processNotifications:b skipCallback:b closedDate:s
        closedBy:s closedFlag:b actualHours:n approved:b estimatedExpenseCost:n
        estimatedExpenseRevenue:n estimatedProductCost:n
        estimatedProductRevenue:n estimatedTimeCost:n estimatedTimeRevenue:n
        billingMethod:s billingAmount:n hourlyRate:n subBillingMethod:s
        subBillingAmount:n subDateAccepted:s dateResolved:s dateResplan:s
        dateResponded:s resolveMinutes:n resPlanMinutes:n respondMinutes:n
        respondByGoalUTC:d resplanGoalUTC:d resolutionGoalUTC:d
        escalationLastUpdateMinutes:n isInSla:b knowledgeBaseLinkId:n
        resources:s parentTicketId:n hasChildTicket:b
        hasMergedChildTicketFlag:b knowledgeBaseLinkType:s billTime:s
        billExpenses:s billProducts:s predecessorType:s predecessorId:n
        predecessorClosedFlag:b lagDays:n lagNonworkingDaysFlag:b
        estimatedStartDate:d duration:n location:r department:r mobileGuid:s
        sla:r slaStatus:s requestForChangeFlag:b currency:r
        mergedParentTicket:r integratorTags:a _info:o escalationStartDateUTC:s
        escalationLevel:n minutesBeforeWaiting:n respondedSkippedMinutes:n
        resplanSkippedMinutes:n respondedHours:n respondedBy:s resplanHours:n
        resplanBy:s resolutionHours:n resolvedBy:s minutesWaiting:n
        customFields:a
    """,
    "ServiceNote": """
        id:n ticketId:n text:s detailDescriptionFlag:b internalAnalysisFlag:b
        resolutionFlag:b issueFlag:b member:r contact:r customerUpdatedFlag:b
        processNotifications:b dateCreated:s createdBy:s internalFlag:b
        externalFlag:b sentimentScore:n _info:o
    """,
    "Board": """
        id:n name:s location:r department:r inactiveFlag:b signOffTemplate:r
        sendToContactFlag:b contactTemplate:r sendToResourceFlag:b
        resourceTemplate:r projectFlag:b showDependenciesFlag:b
        showEstimatesFlag:b boardIcon:r billTicketsAfterClosedFlag:b
        billTicketSeparatelyFlag:b billUnapprovedTimeExpenseFlag:b
        overrideBillingSetupFlag:b dispatchMember:r serviceManagerMember:r
        dutyManagerMember:r oncallMember:r workRole:r workType:r billTime:s
        billExpense:s billProduct:s autoCloseStatus:r
        autoAssignNewTicketsFlag:b autoAssignNewECTicketsFlag:b
        autoAssignNewPortalTicketsFlag:b discussionsLockedFlag:b
        timeEntryLockedFlag:b notifyEmailFrom:s notifyEmailFromName:s
        closedLoopDiscussionsFlag:b closedLoopResolutionFlag:b
        closedLoopInternalAnalysisFlag:b timeEntryDiscussionFlag:b
        timeEntryResolutionFlag:b timeEntryInternalAnalysisFlag:b problemSort:s
        resolutionSort:s internalAnalysisSort:s
        emailConnectorAllowReopenClosedFlag:b emailConnectorReopenStatus:r
        emailConnectorReopenResourcesFlag:b
        emailConnectorNewTicketNoMatchFlag:b
        emailConnectorNeverReopenByDaysFlag:b emailConnectorReopenDaysLimit:n
        emailConnectorNeverReopenByDaysClosedFlag:b
        emailConnectorReopenDaysClosedLimit:n useMemberDisplayNameFlag:b
        sendToCCFlag:b autoAssignTicketOwnerFlag:b autoAssignLimitFlag:b
        autoAssignLimitAmount:n closedLoopAllFlag:b percentageCalculation:s
        allSort:s markFirstNoteIssueFlag:b restrictBoardByDefaultFlag:b
        sendToBundledFlag:b _info:o connectWiseId:s
    """,
    "BoardStatus": """
        id:n name:s board:r sortOrder:n displayOnBoard:b inactive:b
        closedStatus:b timeEntryNotAllowed:b roundRobinCatchall:b defaultFlag:b
        escalationStatus:s customerPortalDescription:s customerPortalFlag:b
        emailTemplate:r statusIndicator:r customStatusIndicatorName:s _info:o
        saveTimeAsNote:b connectWiseId:s parentConnectWiseId:s parentId:n
        grandParentId:n grandParentConnectWiseId:s
    """,
    "BoardTeam": """
        id:n name:s teamLeader:r members:a defaultFlag:b notifyOnTicketDelete:b
        defaultRoundRobinFlag:b roundRobinFlag:b boardId:n locationId:n
        businessUnitId:n _info:o connectWiseId:s parentConnectWiseId:s
        parentId:n grandParentId:n grandParentConnectWiseId:s
    """,
    "Priority": """
        id:n name:s color:s sortOrder:n defaultFlag:b imageLink:s
        urgencySortOrder:s level:s _info:o connectWiseId:s
    """,
    "Member": """
        id:n identifier:s password:s disableOnlineFlag:b licenseClass:s notes:s
        employeeIdentifer:s vendorNumber:s enableMobileGpsFlag:b inactiveDate:d
        inactiveFlag:b lastLogin:s clientId:s token:s firstName:s
        middleInitial:s lastName:s hireDate:d country:r photo:r officeEmail:s
        mobileEmail:s homeEmail:s defaultEmail:s primaryEmail:s officePhone:s
        officeExtension:s mobilePhone:s mobileExtension:s homePhone:s
        homeExtension:s defaultPhone:s securityRole:r office365:o mapiName:s
        calendarSyncIntegrationFlag:b authenticationServiceType:s
        timebasedOneTimePasswordActivated:b enableLdapAuthenticationFlag:b
        ldapConfiguration:r ldapUserName:s directionalSync:r ssoSettings:r
        signature:s phoneIntegrationType:s useBrowserLanguageFlag:b title:s
        reportCard:r enableMobileFlag:b type:r timeZone:r partnerPortalFlag:b
        stsUserAdminUrl:s toastNotificationFlag:b memberPersonas:a adminFlag:b
        structureLevel:r securityLocation:r defaultLocation:r
        defaultDepartment:r reportsTo:r restrictLocationFlag:b
        restrictDepartmentFlag:b workRole:r workType:r timeApprover:r
        expenseApprover:r billableForecast:n dailyCapacity:n hourlyCost:n
        hourlyRate:n includeInUtilizationReportingFlag:b
        requireExpenseEntryFlag:b requireTimeSheetEntryFlag:b
        requireStartAndEndTimeOnTimeEntryFlag:b allowInCellEntryOnTimeSheet:b
        enterTimeAgainstCompanyFlag:b
        allowExpensesEnteredAgainstCompaniesFlag:b timeReminderEmailFlag:b
        daysTolerance:n minimumHours:n timeSheetStartDate:s
        serviceDefaultLocation:r serviceDefaultDepartment:r
        serviceDefaultBoard:r restrictServiceDefaultLocationFlag:b
        restrictServiceDefaultDepartmentFlag:b excludedServiceBoardIds:a
        teams:a serviceBoardTeamIds:a projectDefaultLocation:r
        projectDefaultDepartment:r projectDefaultBoard:r
        restrictProjectDefaultLocationFlag:b
        restrictProjectDefaultDepartmentFlag:b excludedProjectBoardIds:a
        scheduleDefaultLocation:r scheduleDefaultDepartment:r
        scheduleCapacity:n serviceLocation:r restrictScheduleFlag:b
        hideMemberInDispatchPortalFlag:b calendar:r salesDefaultLocation:r
        restrictDefaultSalesTerritoryFlag:b warehouse:r warehouseBin:r
        restrictDefaultWarehouseFlag:b restrictDefaultWarehouseBinFlag:b
        companyActivityTabFormat:s invoiceTimeTabFormat:s
        invoiceScreenDefaultTabFormat:s invoicingDisplayOptions:s
        agreementInvoicingDisplayOptions:s autoStartStopwatch:b
        autoPopupQuickNotesWithStopwatch:b globalSearchDefaultTicketFilter:s
        globalSearchDefaultSort:s phoneSource:s _info:o copyPodLayouts:b
        copySharedDefaultViews:b copyColumnLayoutsAndFilters:b
        fromMemberRecId:n fromMemberTemplateRecId:n customFields:a
    """,
    "Company": """
        id:n identifier:s name:s status:r addressLine1:s addressLine2:s city:s
        state:s zip:s country:r phoneNumber:s faxNumber:s website:s territory:r
        market:r accountNumber:s defaultContact:r dateAcquired:d sicCode:r
        parentCompany:r annualRevenue:n creditLimit:n additionalDebt:n
        numberOfEmployees:n yearEstablished:n revenueYear:n ownershipType:r
        timeZoneSetup:r leadSource:s leadFlag:b unsubscribeFlag:b calendar:r
        userDefinedField1:s userDefinedField2:s userDefinedField3:s
        userDefinedField4:s userDefinedField5:s userDefinedField6:s
        userDefinedField7:s userDefinedField8:s userDefinedField9:s
        userDefinedField10:s vendorIdentifier:s taxIdentifier:s taxCode:r
        billingTerms:r invoiceTemplate:r pricingSchedule:r companyEntityType:r
        billToCompany:r billingSite:r billingContact:r invoiceDeliveryMethod:r
        emailTemplate:r invoiceToEmailAddress:s invoiceCCEmailAddress:s
        deletedFlag:b dateDeleted:d deletedBy:s mobileGuid:s facebookUrl:s
        twitterUrl:s linkedInUrl:s currency:r territoryManager:r
        resellerIdentifier:s isVendorFlag:b types:a site:r integratorTags:a
        _info:o customFields:a
    """,
    "ScheduleEntry": """
        id:n objectId:n name:s member:r where:r dateStart:d dateEnd:d
        reminder:r status:r type:r span:r doneFlag:b acknowledgedFlag:b
        ownerFlag:b meetingFlag:b ticketType:s allowScheduleConflictsFlag:b
        addMemberToProjectFlag:b projectRoleId:n mobileGuid:s
        acknowledgedDate:d closeDate:d notifyResource:b notificationSent:b
        notificationResponse:s hours:n startTimeSet:b endTimeSet:b _info:o
    """,
    "CustomFieldValue": """
        id:n caption:s type:s entryMethod:s numberOfDecimals:n value:v
        connectWiseId:s rowNum:n userDefinedFieldRecId:n podId:s
    """,
    # From connectwise-api.md section 6 (not in the GET cut).
    "Calendar": """
        id:n name:s holidayList:r mondayStartTime:s mondayEndTime:s
        tuesdayStartTime:s tuesdayEndTime:s wednesdayStartTime:s
        wednesdayEndTime:s thursdayStartTime:s thursdayEndTime:s
        fridayStartTime:s fridayEndTime:s saturdayStartTime:s saturdayEndTime:s
        sundayStartTime:s sundayEndTime:s _info:o
    """,
    "HolidayList": "id:n name:s _info:o",
    "Holiday": """
        id:n name:s allDayFlag:b date:s timeStart:s timeEnd:s holidayList:r
        _info:o
    """,
    "TimeZoneSetup": """
        id:n name:s timeZone:r offset:n defaultFlag:b daylightSavingsFlag:x
        _info:o
    """,
    "InOutBoard": """
        id:n member:r inOutType:r additionalInfo:s dateBack:d _info:o
    """,
    "InOutType": "id:n description:s _info:o",
    "ScheduleType": """
        id:n name:s identifier:s chargeCode:r where:r systemFlag:b _info:o
    """,
    "ScheduleStatus": """
        id:n name:s defaultFlag:b showAsTentativeFlag:b _info:o
    """,
    "CompanyOther": """
        id:n defaultCalendar:r serverTimeZone:r updateMemberTimeZonesFlag:b
        _info:o
    """,
}

SCHEMAS = {
    name: dict(item.split(":") for item in text.split())
    for name, text in SCHEMA_TEXT.items()
}

# Collections the emulator knows, "{}" standing for a numeric parent id.
ROUTES = {
    "service/tickets": "Ticket",
    "service/tickets/{}/notes": "ServiceNote",
    "service/boards": "Board",
    "service/boards/{}/teams": "BoardTeam",
    "service/boards/{}/statuses": "BoardStatus",
    "service/priorities": "Priority",
    "system/members": "Member",
    "company/companies": "Company",
    "schedule/entries": "ScheduleEntry",
    "schedule/types": "ScheduleType",
    "schedule/statuses": "ScheduleStatus",
    "schedule/calendars": "Calendar",
    "schedule/holidayLists": "HolidayList",
    "schedule/holidayLists/{}/holidays": "Holiday",
    "system/timeZoneSetups": "TimeZoneSetup",
    "system/inOutBoards": "InOutBoard",
    "system/inOutTypes": "InOutType",
    "system/myCompany/other": "CompanyOther",
}

# Sub-fields of reference objects that may be named in conditions/fields.
REF_SUBFIELDS = {
    "id": "n", "name": "s", "identifier": "s", "sort": "n", "level": "s",
    "dailyCapacity": "n", "summary": "s", "description": "s",
}

# _info keys that conditions may name bare (DJ: lastUpdated>[...]).
INFO_ALIASES = {
    "lastUpdated": "d", "dateEntered": "d", "enteredBy": "s", "updatedBy": "s",
}

ENUMS = {
    ("Ticket", "severity"): ("Low", "Medium", "High"),
    ("Ticket", "impact"): ("Low", "Medium", "High"),
    ("Ticket", "recordType"): ("ServiceTicket", "ProjectTicket",
                               "ProjectIssue"),
}

STRICT_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LOOSE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                            r"(Z|[+-]\d{2}:?\d{2})?)?$")


class ApiError(Exception):
    """An error answer in ConnectWise's ErrorResponseMessage shape."""

    def __init__(self, status, code, message, errors=None, headers=None,
                 body=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self._body = body

    def body(self):
        if self._body is not None:
            return self._body
        return {"code": self.code, "message": self.message,
                "errors": self.errors}


def bad_request(message, code="InvalidRequest"):
    return ApiError(400, code, message)


def invalid_object(resource, field, message, code="InvalidField"):
    """A 400 shaped like ERR's live example (InvalidObject with errors[])."""
    return ApiError(400, "InvalidObject", "%s object is invalid" % resource,
                    [{"code": code, "message": message,
                      "resource": resource, "field": field}])


def not_found(message):
    return ApiError(404, "NotFound", message)


def parse_datetime(text):
    """Parse an ISO-8601 date or date-time; naive values are UTC.
    Returns None when text is not one."""
    if not isinstance(text, str) or not LOOSE_DATETIME.match(text.strip()):
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def format_datetime(value):
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def infer_kind(value):
    """The field kind of a value seen in the data file."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, (int, float)):
        return "n"
    if isinstance(value, str):
        return "d" if STRICT_DATETIME.match(value) else "s"
    if isinstance(value, dict):
        return "r" if "id" in value else "o"
    if isinstance(value, list):
        return "a"
    return "v"          # null: kind unknown, any literal goes


# ---------------------------------------------------------------------------
# Conditions: tokenizer, recursive-descent parser, type check, evaluation.
#
#   expr       := and_expr ("or" and_expr)*
#   and_expr   := primary ("and" primary)*
#   primary    := "(" expr ")" | FIELD operator value
#   operator   := = | != | < | <= | > | >= | contains | like | in
#                 | not contains | not like | not in
#   value      := literal | "(" literal ("," literal)* ")"   (for in)
#   literal    := "string" | 'string' | number | true | false | null
#                 | [datetime]
#
# Keywords are case-insensitive.  A comparison is the tuple
# ("cmp", field, operator, literal-or-list, position); literals are
# (kind, value) with kind str, num, bool, null or dt.

KEYWORDS = {"and", "or", "not", "in", "contains", "like", "true", "false",
            "null"}
WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_/]*")
NUMBER_RE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)")


class Token:
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind, value, pos):
        self.kind, self.value, self.pos = kind, value, pos

    def is_word(self, *words):
        return self.kind == "word" and self.value.lower() in words


def tokenize(text, param):
    def fail(pos, what):
        raise bad_request("%s: %s at position %d" % (param, what, pos + 1))

    tokens = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(Token(c, c, i))
            i += 1
        elif c in "=<>!":
            op = text[i:i + 2] if text[i:i + 2] in ("!=", "<=", ">=") else c
            if op == "!":
                fail(i, "'!' must be followed by '='")
            tokens.append(Token("op", op, i))
            i += len(op)
        elif c in "\"'":
            # A backslash escapes the quote character or itself; any other
            # backslash is literal (connectwise-api.md section 3: UNCONFIRMED,
            # MCP uses a backslash).
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (c, "\\"):
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                fail(i, "unterminated string")
            tokens.append(Token("str", "".join(buf), i))
            i = j + 1
        elif c == "[":
            j = text.find("]", i + 1)
            if j < 0:
                fail(i, "unterminated [datetime]")
            tokens.append(Token("dt", text[i + 1:j].strip(), i))
            i = j + 1
        elif c.isdigit() or (c in "+-." and NUMBER_RE.match(text, i)):
            m = NUMBER_RE.match(text, i)
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_/"):
                fail(i, "malformed value %r (strings must be quoted)"
                     % re.match(r"\S+", text[i:]).group(0))
            raw = m.group(0)
            num = float(raw) if any(ch in raw for ch in ".") else int(raw)
            tokens.append(Token("num", num, i))
            i = end
        elif c.isalpha() or c == "_":
            m = WORD_RE.match(text, i)
            tokens.append(Token("word", m.group(0), i))
            i = m.end()
        else:
            fail(i, "unexpected character %r" % c)
    tokens.append(Token("end", None, n))
    return tokens


class ConditionParser:
    def __init__(self, text, param):
        self.param = param
        self.toks = tokenize(text, param)
        self.i = 0

    def fail(self, tok, what):
        raise bad_request("%s: %s at position %d" % (self.param, what,
                                                      tok.pos + 1))

    def peek(self):
        return self.toks[self.i]

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self):
        if self.peek().kind == "end":
            return None
        node = self.expr()
        if self.peek().kind != "end":
            self.fail(self.peek(), "expected 'and', 'or' or the end")
        return node

    def expr(self):
        node = self.and_expr()
        while self.peek().is_word("or"):
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.primary()
        while self.peek().is_word("and"):
            self.take()
            node = ("and", node, self.primary())
        return node

    def primary(self):
        tok = self.take()
        if tok.kind == "(":
            node = self.expr()
            if self.take().kind != ")":
                self.fail(tok, "unbalanced parenthesis")
            return node
        if tok.kind != "word" or tok.value.lower() in KEYWORDS:
            self.fail(tok, "expected a field name")
        op = self.operator()
        if op in ("in", "not in"):
            value = self.literal_list()
        else:
            value = self.literal()
        return ("cmp", tok.value, op, value, tok.pos)

    def operator(self):
        tok = self.take()
        if tok.kind == "op":
            return tok.value
        if tok.is_word("contains", "like", "in"):
            return tok.value.lower()
        if tok.is_word("not"):
            nxt = self.take()
            if nxt.is_word("contains", "like", "in"):
                return "not " + nxt.value.lower()
            self.fail(nxt, "expected contains, like or in after not")
        self.fail(tok, "expected an operator")

    def literal_list(self):
        tok = self.take()
        if tok.kind != "(":
            self.fail(tok, "expected '(' after in")
        values = [self.literal()]
        while self.peek().kind == ",":
            self.take()
            values.append(self.literal())
        if self.take().kind != ")":
            self.fail(tok, "expected ')' to close the in list")
        return values

    def literal(self):
        tok = self.take()
        if tok.kind == "str":
            return ("str", tok.value)
        if tok.kind == "num":
            return ("num", tok.value)
        if tok.kind == "dt":
            value = parse_datetime(tok.value)
            if value is None:
                self.fail(tok, "invalid datetime [%s]" % tok.value)
            return ("dt", value)
        if tok.is_word("true", "false"):
            return ("bool", tok.value.lower() == "true")
        if tok.is_word("null"):
            return ("null", None)
        if tok.kind == "word":
            self.fail(tok, "malformed value %r: strings must be quoted, "
                      "datetimes in [brackets], booleans true or false, "
                      "and null as null" % tok.value)
        self.fail(tok, "expected a value")


@functools.lru_cache(maxsize=256)
def like_regex(pattern):
    """Translate a SQL Server LIKE pattern (% _ [set] [^set]) to a regex."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[":
            # "[]...]": a "]" first in the set is a member, not the end.
            first = i + 2 if pattern[i + 1:i + 2] == "]" else i + 1
            j = pattern.find("]", first)
            if j < 0:
                out.append(re.escape(c))        # lone '[' is literal
            else:
                body = pattern[i + 1:j]
                neg = body.startswith("^")
                if neg:
                    body = body[1:]
                for special in ("\\", "]", "["):
                    body = body.replace(special, "\\" + special)
                out.append("[%s%s]" % ("^" if neg else "", body))
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


class Catalog:
    """The fields of one resource: the model's, plus whatever the data has."""

    def __init__(self, schema_name, items):
        self.kinds = dict(SCHEMAS.get(schema_name, {}))
        self.sub = {}           # object field -> {sub-field: kind}
        self.elem = {}          # array field -> kind of scalar elements
        # Kinds from the model stay as they are; the data adds the rest.
        self.fixed = {"": set(self.kinds)}
        self.mixed = set()
        if "customFields" in self.kinds:
            self.sub["customFields"] = dict(SCHEMAS["CustomFieldValue"])
            self.fixed["customFields"] = set(SCHEMAS["CustomFieldValue"])
        for item in items:
            if isinstance(item, dict):
                self.observe(item)

    def note(self, table, name, key, value):
        """Record the kind of one value seen in the data.  A null tells
        nothing; values of different kinds make the field take any literal
        ("d" and "s" together make "s")."""
        if key in self.fixed.get(name, ()):
            return
        seen = infer_kind(value)
        old = table.get(key)
        if old is None or (old == "v" and (name, key) not in self.mixed):
            table[key] = seen
        elif seen not in ("v", old):
            table[key] = "s" if {old, seen} == {"d", "s"} else "v"
            if table[key] == "v":
                self.mixed.add((name, key))

    def observe(self, item):
        for key, value in item.items():
            self.note(self.kinds, "", key, value)
            elements = value if isinstance(value, list) else [value]
            for element in elements:
                if isinstance(element, dict):
                    subs = self.sub.setdefault(key, {})
                    for k, v in element.items():
                        self.note(subs, key, k, v)
                elif isinstance(value, list) and element is not None:
                    self.note(self.elem, key, key, element)

    def lookup(self, path, param, arrays=False, projection=False):
        """Kind of a field path, or a 400 if the resource has no such field.
        With arrays, a path may step into an array (childConditions)."""
        def unknown():
            return bad_request("%s: unknown field '%s'" % (param, path),
                               "InvalidField")

        parts = path.split("/")
        head = parts[0]
        kind = self.kinds.get(head)
        if kind is None:
            if len(parts) == 1 and head in INFO_ALIASES and not projection:
                return INFO_ALIASES[head]
            raise unknown()
        if len(parts) == 1:
            if kind == "a" and not (arrays or projection):
                raise bad_request("%s: '%s' is an array; filter it with "
                                  "childConditions" % (param, path))
            if kind == "a":
                return self.elem.get(head, "v")
            return kind
        if len(parts) > 2:
            raise unknown()
        sub = parts[1]
        if head == "_info":
            if projection:
                return "s"
            raise bad_request("%s: unknown field '%s'; name _info keys bare, "
                              "e.g. %s" % (param, path, sub), "InvalidField")
        if kind == "r":
            sub_kind = (REF_SUBFIELDS.get(sub)
                        or self.sub.get(head, {}).get(sub))
        elif kind == "a":
            if not (arrays or projection):
                raise bad_request("%s: '%s' is in an array; filter it with "
                                  "childConditions" % (param, path))
            sub_kind = self.sub.get(head, {}).get(sub)
        elif kind == "o":
            sub_kind = self.sub.get(head, {}).get(sub)
        else:
            sub_kind = None
        if sub_kind is None:
            raise unknown()
        return sub_kind


# Which literal kinds each field kind accepts.  A string field also takes a
# [datetime] (closedDate is a plain string in the model but is filtered
# with brackets, section 6.10); "v" (unknown) takes anything.
LITERALS_FOR = {
    "s": {"str", "dt"}, "d": {"dt"}, "n": {"num"}, "b": {"bool"},
    "v": {"str", "dt", "num", "bool"}, "r": set(), "o": set(), "a": set(),
    "x": set(),
}
KIND_NAMES = {"s": "a string", "d": "a datetime", "n": "a number",
              "b": "a boolean", "r": "a reference", "o": "an object",
              "a": "an array", "x": "not filterable"}
LITERAL_RULES = {"str": "quoted", "dt": "in [brackets]",
                 "num": "a bare number", "bool": "true or false"}


class Condition:
    """A parsed, type-checked condition string, ready to evaluate."""

    def __init__(self, text, catalog, param, arrays=False):
        self.param = param
        self.arrays = arrays
        self.tree = ConditionParser(text, param).parse()
        if self.tree is not None:
            self.check(self.tree, catalog)

    def check(self, node, catalog):
        if node[0] in ("and", "or"):
            self.check(node[1], catalog)
            self.check(node[2], catalog)
            return
        _, field, op, value, pos = node
        kind = catalog.lookup(field, self.param, arrays=self.arrays)
        if kind == "x":
            raise bad_request("%s: '%s' cannot be used in conditions"
                              % (self.param, field))
        literals = value if isinstance(value, list) else [value]
        for lit in literals:
            if lit[0] == "null":
                if op not in ("=", "!="):
                    raise bad_request("%s: null can only be compared with = "
                                      "or != (%s)" % (self.param, field))
                continue
            if lit[0] not in LITERALS_FOR[kind]:
                if kind in ("r", "o", "a"):
                    hint = "; compare one of its fields, e.g. %s/id" % field
                else:
                    hint = "; %s values must be %s" % (
                        lit[0] if lit[0] != "str" else "string",
                        LITERAL_RULES[lit[0]])
                raise bad_request("%s: '%s' is %s and cannot be compared "
                                  "with %s%s" % (self.param, field,
                                                 KIND_NAMES.get(kind, kind),
                                                 describe(lit), hint))
        if op in ("contains", "not contains", "like", "not like"):
            if kind not in ("s", "v") or value[0] != "str":
                raise bad_request("%s: %s needs a string field and a quoted "
                                  "pattern (%s)" % (self.param, op, field))
        if op in ("<", "<=", ">", ">=") and kind == "b":
            raise bad_request("%s: '%s' is a boolean; use = or !="
                              % (self.param, field))

    def matches(self, obj):
        return self.tree is None or self.eval(self.tree, obj)

    def eval(self, node, obj):
        if node[0] == "and":
            return self.eval(node[1], obj) and self.eval(node[2], obj)
        if node[0] == "or":
            return self.eval(node[1], obj) or self.eval(node[2], obj)
        _, field, op, value, _ = node
        values = field_values(obj, field)
        if not values:
            values = [None]
        # Existential over array elements (childConditions); a plain field
        # yields exactly one value.
        return any(compare(v, op, value) for v in values)


def describe(lit):
    kind, value = lit
    if kind == "dt":
        return "[%s]" % format_datetime(value)
    if kind == "str":
        return '"%s"' % value
    return json.dumps(value)


def field_values(obj, path):
    """The values at a field path.  Arrays on the way are flattened, and an
    _info key may be named bare (lastUpdated)."""
    parts = path.split("/")
    if (len(parts) == 1 and parts[0] not in obj and parts[0] in INFO_ALIASES
            and isinstance(obj.get("_info"), dict)):
        return [obj["_info"].get(parts[0])]
    current = [obj]
    for part in parts:
        nxt = []
        for item in current:
            value = item.get(part) if isinstance(item, dict) else None
            if isinstance(value, list):
                nxt.extend(value)
            else:
                nxt.append(value)
        current = nxt
    return current


def unbracket(text):
    """DG: a literal '[' inside a string is written '[[]'."""
    return text.replace("[[]", "[")


def compare(actual, op, literal):
    if op in ("in", "not in"):
        if actual is None:
            return False        # SQL: NULL [NOT] IN (...) is unknown
        hit = any(compare(actual, "=", lit) for lit in literal)
        return hit if op == "in" else not hit
    kind, want = literal
    if kind == "null":
        return (actual is None) == (op == "=")
    if actual is None:
        return False            # SQL NULL semantics
    if op in ("contains", "not contains", "like", "not like"):
        pattern = want if op.endswith("like") else "%" + want + "%"
        hit = bool(like_regex(pattern).fullmatch(str(actual)))
        return hit if not op.startswith("not") else not hit
    if kind == "dt":
        have = parse_datetime(actual)
        if have is None:
            return False
    elif kind == "num":
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            try:
                have = float(actual)
            except (TypeError, ValueError):
                return False
        else:
            have = actual
    elif kind == "bool":
        if not isinstance(actual, bool):
            return False
        have = actual
    else:
        have = str(actual).casefold()
        want = unbracket(want).casefold()
    if op == "=":
        return have == want
    if op == "!=":
        return have != want
    try:
        return {"<": have < want, "<=": have <= want, ">": have > want,
                ">=": have >= want}[op]
    except TypeError:
        return False


def sort_key(value):
    """Sort key with nulls first, strings case-insensitively."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value.casefold())
    return (4, json.dumps(value, sort_keys=True))


def parse_order_by(text, catalog):
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2
                              and words[1].lower() not in ("asc", "desc")):
            raise bad_request("orderBy: expected 'field asc' or 'field desc', "
                              "got '%s'" % part.strip())
        kind = catalog.lookup(words[0], "orderBy")
        if kind in ("r", "o", "a"):
            raise bad_request("orderBy: '%s' is not a sortable field"
                              % words[0])
        keys.append((words[0], len(words) == 2
                     and words[1].lower() == "desc"))
    return keys


def apply_order(items, keys):
    # Stable sorts from the last key to the first give a multi-key order.
    for field, desc in reversed(keys):
        items.sort(key=lambda o: sort_key(field_values(o, field)[0]),
                   reverse=desc)
    return items


def parse_fields(text, catalog):
    """fields=a,b/c -> a selection tree {"a": True, "b": {"c": True}}."""
    tree = {}
    for path in (p.strip() for p in text.split(",")):
        if not path:
            continue
        catalog.lookup(path, "fields", projection=True)
        parts = path.split("/")
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if child is True:
                break
            node = node.setdefault(part, {})
        else:
            node[parts[-1]] = True
    return tree


def project(obj, tree):
    """Copy the selected fields of obj, keeping the record's key order."""
    out = {}
    for key, value in obj.items():
        sel = tree.get(key)
        if sel is True:
            out[key] = value
        elif sel and isinstance(value, dict):
            sub = project(value, sel)
            if sub:
                out[key] = sub
    return out


# ---------------------------------------------------------------------------
# The data and the API operations on it.

class Route:
    """What a request path names: kind is list, count, item, object or
    search; collection is the concrete data key ("service/boards/1/teams")."""

    def __init__(self, kind, collection, schema=None, item_id=None,
                 template=None, parent=None):
        self.kind = kind
        self.collection = collection
        self.schema = schema
        self.item_id = item_id
        self.template = template or collection
        self.parent = parent        # (parent collection, parent id) or None


class Request:
    """The parts of one API request the operations need."""

    def __init__(self, method, rel, query, headers, body, base_url, entry):
        self.method = method
        self.rel = rel
        self.query = query
        self.pairs = parse_qsl(query, keep_blank_values=True)
        # Query parameter names are case-insensitive (ASP.NET binding); the
        # first occurrence wins.
        self.params = {}
        for key, value in self.pairs:
            self.params.setdefault(key.lower(), value)
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.entry = entry

    def note(self, text):
        self.entry.setdefault("notes", []).append(text)

    def json_body(self):
        ctype = (self.headers.get("Content-Type") or "").lower()
        if "json" not in ctype:
            raise ApiError(415, "UnsupportedMediaType",
                           "The request entity's media type '%s' is not "
                           "supported; send application/json"
                           % (self.headers.get("Content-Type") or ""))
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad_request("The request body is not valid JSON: %s" % exc,
                              "InvalidObject")
        self.entry["body"] = value
        return value

    def href(self, rel):
        return "%s/%s" % (self.base_url, rel)


def ref_id(value):
    if isinstance(value, dict) and isinstance(value.get("id"), int) \
            and not isinstance(value.get("id"), bool):
        return value["id"]
    return None


def same_id(a, b):
    return (isinstance(a, int) and not isinstance(a, bool)
            and isinstance(b, int) and not isinstance(b, bool) and a == b)


def in_model_order(record, schema):
    """The record's fields in the model's order (the server serialises its
    model, so a field added by a write does not go last), extras after."""
    model = SCHEMAS[schema]
    out = {k: record[k] for k in model if k in record}
    out.update((k, v) for k, v in record.items() if k not in out)
    return out


def check_value(resource, field, kind, value, schema=None):
    """Type-check one written value; returns it or raises a 400."""
    ok = {
        "b": lambda v: isinstance(v, bool),
        "n": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "s": lambda v: isinstance(v, str),
        "d": lambda v: isinstance(v, str) and STRICT_DATETIME.match(v),
        "r": lambda v: isinstance(v, dict),
        "o": lambda v: isinstance(v, dict),
        "a": lambda v: isinstance(v, list),
    }.get(kind, lambda v: True)
    if not ok(value):
        want = {"d": "a datetime YYYY-MM-DDTHH:MM:SSZ",
                "r": "an object such as {\"id\": 1}"}.get(
                    kind, KIND_NAMES.get(kind, "a value"))
        raise invalid_object(resource, field, "The field %s must be %s."
                             % (field, want), "InvalidValue")
    allowed = ENUMS.get((schema, field))
    if allowed and value not in allowed:
        raise invalid_object(resource, field, "The field %s must be one of "
                             "%s." % (field, ", ".join(allowed)),
                             "InvalidValue")
    return value


DEFAULT_SCHEDULE_TYPES = [
    {"id": 4, "identifier": "S", "name": "Service"},
    {"id": 1, "identifier": "C", "name": "Sales"},
]


class Store:
    def __init__(self, data, clock):
        self.lock = threading.RLock()
        self.clock = clock
        self.reject_big_pages = False
        self.load(data)

    def load(self, data):
        """Take (or, on /__control/reset, retake) the contents of a data
        file; raises ValueError when it is malformed."""
        if not isinstance(data, dict):
            raise ValueError("data: the file must hold a JSON object")
        creds = data.get("credentials")
        if not isinstance(creds, dict) or not all(
                isinstance(creds.get(k), str)
                for k in ("company", "publicKey", "privateKey", "clientId")):
            raise ValueError("data: credentials needs company, publicKey, "
                             "privateKey and clientId strings")
        self.credentials = creds
        server = data.get("server") or {}
        self.version = str(server.get("version") or DEFAULT_VERSION)
        self.api_member = server.get("apiMember") or {}
        resources = data.get("resources")
        if not isinstance(resources, dict):
            raise ValueError("data: resources must be an object")
        for key, value in resources.items():
            if not isinstance(value, (list, dict)):
                raise ValueError("data: resources[%r] must be a list or an "
                                 "object" % key)
        self.resources = resources

    def now(self):
        return format_datetime(self.clock())

    def items(self, collection):
        value = self.resources.get(collection)
        return value if isinstance(value, list) else []

    def find(self, collection, item_id):
        for item in self.items(collection):
            if isinstance(item, dict) and same_id(item.get("id"), item_id):
                return item
        return None

    def replace(self, collection, new):
        items = self.resources.setdefault(collection, [])
        for i, item in enumerate(items):
            if same_id(item.get("id"), new["id"]):
                items[i] = new
                return
        items.append(new)

    def next_id(self, template):
        """One more than the highest id over every collection of a template
        (note ids are unique across tickets, as in ConnectWise)."""
        pattern = re.compile("^" + re.escape(template).replace(
            re.escape("{}"), r"\d+") + "$")
        top = 0
        for key, value in self.resources.items():
            if pattern.match(key) and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and isinstance(item.get("id"),
                                                             int):
                        top = max(top, item["id"])
        return top + 1

    # -- routing -----------------------------------------------------------

    def route(self, rel):
        segs = [s for s in rel.split("/") if s]
        lower = [s.lower() for s in segs]
        if lower == ["service", "tickets", "search"]:
            return Route("search", "service/tickets", "Ticket")
        for template, schema in ROUTES.items():
            tsegs = template.split("/")
            n = len(tsegs)
            if len(segs) < n:
                continue
            concrete, ids = [], []
            for want, have in zip(tsegs, lower):
                if want == "{}":
                    if not have.isdigit():
                        break
                    ids.append(int(have))
                    concrete.append(str(int(have)))
                elif want.lower() != have:
                    break
                else:
                    concrete.append(want)
            else:
                kind, item_id = self.kind_of(lower[n:])
                if kind is None:
                    continue
                parent = None
                if ids:
                    cut = tsegs.index("{}")
                    parent = ("/".join(tsegs[:cut]), ids[0])
                return Route(kind, "/".join(concrete), schema, item_id,
                             template, parent)
        # Resources in the data file that ROUTES does not know.
        keys = {k.lower(): k for k in self.resources}
        for cut in (len(lower), len(lower) - 1):
            if cut <= 0:
                continue
            key = keys.get("/".join(lower[:cut]))
            if key is None:
                continue
            if isinstance(self.resources[key], dict):
                if cut == len(lower):
                    return Route("object", key)
                continue
            kind, item_id = self.kind_of(lower[cut:])
            if kind is not None:
                return Route(kind, key, None, item_id)
        return None

    @staticmethod
    def kind_of(rest):
        if not rest:
            return "list", None
        if rest == ["count"]:
            return "count", None
        if len(rest) == 1 and rest[0].isdigit():
            return "item", int(rest[0])
        return None, None

    # -- reference objects -------------------------------------------------

    def member_ref(self, req, member):
        ref = {"id": member["id"], "identifier": member.get("identifier"),
               "name": " ".join(x for x in (member.get("firstName"),
                                             member.get("lastName")) if x)}
        if "dailyCapacity" in member:
            ref["dailyCapacity"] = member["dailyCapacity"]
        ref["_info"] = {"member_href":
                        req.href("system/members/%d" % member["id"])}
        return ref

    def api_member_ref(self, req):
        member = None
        if isinstance(self.api_member.get("id"), int):
            member = self.find("system/members", self.api_member["id"])
        if member is None and self.api_member.get("identifier"):
            member = self.lookup(self.items("system/members"), "identifier",
                                 self.api_member["identifier"])
        if member is not None:
            return self.member_ref(req, member)
        return dict(self.api_member) or None

    def api_identifier(self):
        return self.api_member.get("identifier") or self.credentials[
            "publicKey"]

    @staticmethod
    def lookup(items, key, want):
        for item in items:
            have = item.get(key)
            if key == "id":
                if same_id(have, want):
                    return item
            elif isinstance(have, str) and isinstance(want, str) \
                    and have.casefold() == want.casefold():
                return item
        return None

    def resolve(self, resource, field, value, items, keys, label=None,
                scope=""):
        """Find the record a written reference names, by the first of keys
        present in it; a 400 naming the field if there is none."""
        if not isinstance(value, dict):
            raise invalid_object(resource, field, "The field %s must be an "
                                 "object such as {\"id\": 1}." % field,
                                 "InvalidValue")
        for key in keys:
            if value.get(key) is None:
                continue
            found = self.lookup(items, key, value[key])
            if found is None:
                raise invalid_object(resource, field, "The %s %s %s was not "
                                     "found%s." % (label or field, key,
                                                   json.dumps(value[key]),
                                                   scope), "NotFound")
            return found
        raise invalid_object(resource, field, "The field %s needs one of %s."
                             % (field, ", ".join(keys)), "Required")

    # -- reads -------------------------------------------------------------

    def page_size(self, req):
        size = self.int_param(req, "pagesize", "pageSize")
        if size is None or size < 1:
            return DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            if self.reject_big_pages:
                raise bad_request("pageSize: the maximum is %d, got %d"
                                  % (MAX_PAGE_SIZE, size))
            req.note("pageSize %d clamped to %d" % (size, MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
        return size

    @staticmethod
    def int_param(req, key, name):
        raw = req.params.get(key)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise bad_request("The value '%s' is not valid for %s."
                              % (raw, name))

    def link_url(self, req, extra):
        skip = {"page", "pagesize", "pageid"}
        pairs = [(k, v) for k, v in req.pairs if k.lower() not in skip]
        pairs.extend(extra)
        query = "&".join("%s=%s" % (quote(k, safe=""),
                                    quote(str(v), safe="/,"))
                         for k, v in pairs)
        return "<%s?%s>" % (req.href(req.rel), query)

    def select(self, req, route, params):
        """Filter and order a collection by conditions, childConditions,
        customFieldConditions and orderBy."""
        items = [i for i in self.items(route.collection)
                 if isinstance(i, dict)]
        catalog = Catalog(route.schema, items)
        conds = [Condition(params.get("conditions", ""), catalog,
                           "conditions"),
                 Condition(params.get("childconditions", ""), catalog,
                           "childConditions", arrays=True)]
        custom = None
        if params.get("customfieldconditions", "").strip():
            elements = [e for i in items for e in i.get("customFields") or []
                        if isinstance(e, dict)]
            custom = Condition(params["customfieldconditions"],
                               Catalog("CustomFieldValue", elements),
                               "customFieldConditions")
        rows = [i for i in items if all(c.matches(i) for c in conds)
                and (custom is None
                     or any(custom.matches(e) for e in i.get("customFields")
                            or [] if isinstance(e, dict)))]
        return rows, catalog

    def get_list(self, req, route, params=None):
        params = req.params if params is None else params
        if route.kind == "count":
            rows, _ = self.select(req, route, params)
            return 200, {"count": len(rows)}, {}
        rows, catalog = self.select(req, route, params)
        fields = parse_fields(params["fields"], catalog) \
            if params.get("fields", "").strip() else None
        size = self.page_size(req)
        headers = {}
        forward = (req.headers.get("pagination-type") or "").strip().lower() \
            == "forward-only"
        if forward:
            if params.get("orderby", "").strip():
                raise bad_request("orderBy is not allowed with forward-only "
                                  "pagination")
            after = self.int_param(req, "pageid", "pageId") or 0
            rows = apply_order([r for r in rows if isinstance(r.get("id"), int)
                                and r["id"] > after], [("id", False)])
            page_rows = rows[:size]
            headers["Link"] = ""
            if len(rows) > size:
                headers["Link"] = '%s; rel="next"' % self.link_url(
                    req, [("pageSize", size), ("pageId", page_rows[-1]["id"])])
        else:
            keys = parse_order_by(params.get("orderby", ""), catalog)
            rows = apply_order(apply_order(rows, [("id", False)]), keys)
            page = max(1, self.int_param(req, "page", "page") or 1)
            last = max(1, -(-len(rows) // size))
            page_rows = rows[(page - 1) * size:page * size]
            links = [("first", 1)]
            if page > 1:
                links.append(("prev", page - 1))
            if page < last:
                links.append(("next", page + 1))
            links.append(("last", last))
            headers["Link"] = ", ".join(
                '%s; rel="%s"' % (self.link_url(req, [("pageSize", size),
                                                      ("page", n)]), rel)
                for rel, n in links)
        if fields is not None:
            page_rows = [project(r, fields) for r in page_rows]
        req.entry["items"] = len(page_rows)
        return 200, page_rows, headers

    def get_item(self, req, route):
        item = self.find(route.collection, route.item_id)
        if item is None:
            raise not_found("%s with id %d was not found."
                            % (route.schema or "Record", route.item_id))
        if req.params.get("fields", "").strip():
            item = project(item, parse_fields(
                req.params["fields"],
                Catalog(route.schema, self.items(route.collection))))
        return 200, item, {}

    # -- writes ------------------------------------------------------------

    def patch_ticket(self, req, route):
        old = self.find(route.collection, route.item_id)
        if old is None:
            raise not_found("Ticket with id %d was not found."
                            % route.item_id)
        ops = req.json_body()
        if not isinstance(ops, list):
            raise bad_request("The request body must be a JSON Patch array "
                              "of operations.", "InvalidObject")
        # The model's fields and this ticket's: a catalog of the whole
        # collection would cost a pass over every ticket per PATCH.
        catalog = Catalog("Ticket", [old])
        new = copy.deepcopy(old)
        touched = set()
        for n, op in enumerate(ops):
            if not isinstance(op, dict) or not isinstance(op.get("op"), str) \
                    or not isinstance(op.get("path"), str):
                raise bad_request("Operation %d needs string op and path."
                                  % n, "InvalidObject")
            verb = op["op"].lower()
            if verb not in ("add", "replace", "remove"):
                raise bad_request("Operation %d: op '%s' is not supported "
                                  "(add, replace, remove)." % (n, op["op"]),
                                  "InvalidObject")
            path = op["path"][1:] if op["path"].startswith("/") else op["path"]
            if "/" in path:
                if catalog.kinds.get(path.split("/")[0]) == "r":
                    # DG: sub-paths into references "can return a false 200".
                    req.note("ignored PATCH sub-path '%s' (false 200)" % path)
                    continue
                raise invalid_object("ticket", path, "Unknown field '%s'."
                                     % path)
            kind = catalog.kinds.get(path)
            if kind is None:
                raise invalid_object("ticket", path, "Unknown field '%s'."
                                     % path)
            if path in ("id", "_info", "closedFlag", "closedDate", "closedBy"):
                raise invalid_object("ticket", path, "The field %s cannot be "
                                     "written; %s" % (path,
                                     "change status to close or reopen"
                                     if path.startswith("closed")
                                     else "it is read-only"), "ReadOnly")
            if verb != "remove" and "value" not in op:
                raise bad_request("Operation %d: %s needs a value."
                                  % (n, verb), "InvalidObject")
            value = op.get("value") if verb != "remove" else None
            if value is None:
                if path in ("summary", "company", "board", "status"):
                    raise invalid_object("ticket", path, "The field %s is "
                                         "required." % path, "Required")
                new.pop(path, None)
            else:
                new[path] = check_value("ticket", path, kind, value, "Ticket")
            touched.add(path)
        self.resolve_ticket_refs(req, new, touched)
        self.validate_ticket(new, touched)
        self.settle_ticket(req, old, new)
        new = in_model_order(new, "Ticket")
        self.replace(route.collection, new)
        return 200, new, {}

    def resolve_ticket_refs(self, req, t, touched):
        if "board" in touched:
            b = self.resolve("ticket", "board", t["board"],
                             self.items("service/boards"), ("id", "name"))
            t["board"] = {"id": b["id"], "name": b.get("name"), "_info": {
                "board_href": req.href("service/boards/%d" % b["id"])}}
        board_id = ref_id(t.get("board"))
        board = self.find("service/boards", board_id) or {}
        scope = " on board '%s'" % board.get("name", board_id)
        if "status" in touched and "status" in t:
            s = self.resolve("ticket", "status", t["status"],
                             self.items("service/boards/%s/statuses"
                                        % board_id), ("id", "name"),
                             scope=scope)
            t["status"] = {"id": s["id"], "name": s.get("name"),
                           "sort": s.get("sortOrder", 0), "_info": {
                               "status_href": req.href(
                                   "service/boards/%s/statuses/%d"
                                   % (board_id, s["id"]))}}
        if "team" in touched and "team" in t:
            tm = self.resolve("ticket", "team", t["team"],
                              self.items("service/boards/%s/teams"
                                         % board_id), ("id", "name"),
                              scope=scope)
            t["team"] = {"id": tm["id"], "name": tm.get("name"), "_info": {
                "team_href": req.href("service/boards/%s/teams/%d"
                                      % (board_id, tm["id"]))}}
        if "owner" in touched and "owner" in t:
            m = self.resolve("ticket", "owner", t["owner"],
                             self.items("system/members"),
                             ("id", "identifier"), "member")
            if m.get("inactiveFlag"):
                raise invalid_object("ticket", "owner", "Member %s is "
                                     "inactive." % m.get("identifier"),
                                     "InvalidValue")
            t["owner"] = self.member_ref(req, m)
        if "company" in touched and "company" in t:
            c = self.resolve("ticket", "company", t["company"],
                             self.items("company/companies"),
                             ("id", "identifier", "name"))
            t["company"] = {"id": c["id"], "identifier": c.get("identifier"),
                            "name": c.get("name"), "_info": {
                                "company_href": req.href(
                                    "company/companies/%d" % c["id"])}}
        if "priority" in touched and "priority" in t \
                and self.items("service/priorities"):
            p = self.resolve("ticket", "priority", t["priority"],
                             self.items("service/priorities"), ("id", "name"))
            t["priority"] = {k: v for k, v in (
                ("id", p["id"]), ("name", p.get("name")),
                ("sort", p.get("sortOrder")), ("level", p.get("level")))
                if v is not None}

    def validate_ticket(self, t, touched):
        """Revalidate the whole ticket, as the real server does on PATCH."""
        summary = t.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise invalid_object("ticket", "summary", "The field summary is "
                                 "required.", "Required")
        if len(summary) > 100:
            raise invalid_object("ticket", "summary", "The field summary "
                                 "must be at most 100 characters.",
                                 "InvalidValue")
        board_id = ref_id(t.get("board"))
        board = self.find("service/boards", board_id)
        if board is None:
            raise invalid_object("ticket", "board", "The board id %s is not "
                                 "valid." % board_id, "NotFound")
        status_id = ref_id(t.get("status"))
        status = self.find("service/boards/%d/statuses" % board_id, status_id)
        if status is None:
            raise invalid_object("ticket", "status", "The status id %s is not "
                                 "valid for board '%s'."
                                 % (status_id, board.get("name")), "NotFound")
        if "status" in touched and status.get("inactive"):
            raise invalid_object("ticket", "status", "The status '%s' is "
                                 "inactive." % status.get("name"),
                                 "InvalidValue")
        if "team" in t:
            team_id = ref_id(t["team"])
            if self.find("service/boards/%d/teams" % board_id,
                         team_id) is None:
                raise invalid_object("ticket", "team", "The team id %s is not "
                                     "valid for board '%s'."
                                     % (team_id, board.get("name")),
                                     "NotFound")
        if "owner" in t and self.find("system/members",
                                      ref_id(t["owner"])) is None:
            raise invalid_object("ticket", "owner", "The member id %s was not "
                                 "found." % ref_id(t["owner"]), "NotFound")

    def settle_ticket(self, req, old, new):
        """Derived fields: the closed state follows the status."""
        board_id = ref_id(new["board"])
        status = self.find("service/boards/%d/statuses" % board_id,
                           ref_id(new["status"]))
        now = self.now()
        closed = bool(status.get("closedStatus"))
        if closed and not old.get("closedFlag"):
            new["closedDate"] = now
            new["closedBy"] = self.api_identifier()
        elif not closed:
            new.pop("closedDate", None)
            new.pop("closedBy", None)
        new["closedFlag"] = closed
        info = new.setdefault("_info", {})
        info["lastUpdated"] = now
        info["updatedBy"] = self.api_identifier()

    def post_schedule_entry(self, req, route):
        body = req.json_body()
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.",
                              "InvalidObject")
        model = SCHEMAS["ScheduleEntry"]
        entry = {}
        for key, value in body.items():
            if key not in model or key in ("id", "_info"):
                req.note("dropped field '%s'" % key)
            elif value is not None:
                entry[key] = check_value("scheduleEntry", key, model[key],
                                         value)
        types = self.items("schedule/types") or DEFAULT_SCHEDULE_TYPES
        if "type" not in entry:
            raise invalid_object("scheduleEntry", "type", "The field type is "
                                 "required.", "Required")
        stype = self.resolve("scheduleEntry", "type", entry["type"], types,
                             ("id", "identifier"), "schedule type")
        entry["type"] = {"id": stype["id"],
                         "identifier": stype.get("identifier"),
                         "name": stype.get("name")}
        if "member" not in entry:
            raise invalid_object("scheduleEntry", "member", "The field member "
                                 "is required.", "Required")
        member = self.resolve("scheduleEntry", "member", entry["member"],
                              self.items("system/members"),
                              ("id", "identifier"), "member")
        if member.get("inactiveFlag"):
            raise invalid_object("scheduleEntry", "member", "Member %s is "
                                 "inactive." % member.get("identifier"),
                                 "InvalidValue")
        entry["member"] = self.member_ref(req, member)
        span = {}
        for field in ("dateStart", "dateEnd"):
            if field not in entry:
                raise invalid_object("scheduleEntry", field, "The field %s is "
                                     "required." % field, "Required")
            span[field] = parse_datetime(entry[field])
        if span["dateEnd"] <= span["dateStart"]:
            raise invalid_object("scheduleEntry", "dateEnd", "dateEnd must be "
                                 "after dateStart.", "InvalidValue")
        ticket = None
        if (stype.get("identifier") or "").upper() == "S":
            if not isinstance(entry.get("objectId"), int):
                raise invalid_object("scheduleEntry", "objectId", "The field "
                                     "objectId is required for a service "
                                     "schedule entry.", "Required")
            ticket = self.find("service/tickets", entry["objectId"])
            if ticket is None:
                raise invalid_object("scheduleEntry", "objectId", "Ticket %d "
                                     "was not found." % entry["objectId"],
                                     "NotFound")
        statuses = self.items("schedule/statuses")
        if "status" in entry:
            st = self.resolve("scheduleEntry", "status", entry["status"],
                              statuses, ("id", "name"),
                              "schedule status") if statuses else \
                entry["status"]
            entry["status"] = {"id": st.get("id"), "name": st.get("name")}
        else:
            default = next((s for s in statuses if s.get("defaultFlag")), None)
            if default is not None:
                entry["status"] = {"id": default["id"],
                                   "name": default.get("name")}
        if not entry.get("allowScheduleConflictsFlag", False):
            for other in self.items("schedule/entries"):
                if ref_id(other.get("member")) != member["id"] \
                        or other.get("doneFlag"):
                    continue
                start = parse_datetime(other.get("dateStart"))
                end = parse_datetime(other.get("dateEnd"))
                if start and end and start < span["dateEnd"] \
                        and span["dateStart"] < end:
                    raise invalid_object(
                        "scheduleEntry", "dateStart",
                        "Member %s already has schedule entry %d from %s to "
                        "%s; set allowScheduleConflictsFlag to book anyway."
                        % (member.get("identifier"), other["id"],
                           other.get("dateStart"), other.get("dateEnd")),
                        "ScheduleConflict")
        if ticket is not None and "name" not in entry:
            company = (ticket.get("company") or {}).get("name")
            entry["name"] = " / ".join(x for x in (company,
                                                   ticket.get("summary")) if x)
        seconds = (span["dateEnd"] - span["dateStart"]).total_seconds()
        entry.setdefault("hours", round(seconds / 3600.0, 2))
        for flag in ("doneFlag", "acknowledgedFlag", "ownerFlag",
                     "meetingFlag", "allowScheduleConflictsFlag"):
            entry.setdefault(flag, False)
        entry["id"] = self.next_id("schedule/entries")
        now = self.now()
        me = self.api_identifier()
        entry["_info"] = {"lastUpdated": now, "updatedBy": me,
                          "dateEntered": now, "enteredBy": me}
        entry = in_model_order(entry, "ScheduleEntry")
        self.resources.setdefault("schedule/entries", []).append(entry)
        return 201, entry, {}

    def post_note(self, req, route):
        body = req.json_body()
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.",
                              "InvalidObject")
        model = SCHEMAS["ServiceNote"]
        for key, value in body.items():
            if key in model and value is not None and key not in ("id",
                                                                  "_info"):
                check_value("serviceNote", key, model[key], value)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise invalid_object("serviceNote", "text", "The field text is "
                                 "required.", "Required")
        flags = ("detailDescriptionFlag", "internalAnalysisFlag",
                 "resolutionFlag")
        if not any(body.get(f) is True for f in flags):
            raise invalid_object("serviceNote", "detailDescriptionFlag",
                                 "One of detailDescriptionFlag, "
                                 "internalAnalysisFlag or resolutionFlag must "
                                 "be true.", "Required")
        if isinstance(body.get("member"), dict):
            member = self.member_ref(req, self.resolve(
                "serviceNote", "member", body["member"],
                self.items("system/members"),
                ("id", "identifier"), "member"))
        else:
            member = self.api_member_ref(req)
        now = self.now()
        note = {"id": self.next_id("service/tickets/{}/notes"),
                "ticketId": route.parent[1], "text": text}
        for flag in flags + ("issueFlag",):
            note[flag] = bool(body.get(flag, False))
        if member:
            note["member"] = member
        note["customerUpdatedFlag"] = bool(body.get("customerUpdatedFlag",
                                                    False))
        note["processNotifications"] = bool(body.get("processNotifications",
                                                     True))
        note["dateCreated"] = now
        note["createdBy"] = self.api_identifier()
        note["internalFlag"] = bool(body.get("internalFlag",
                                             note["internalAnalysisFlag"]))
        note["externalFlag"] = bool(body.get("externalFlag", False))
        note["_info"] = {"lastUpdated": now,
                         "updatedBy": self.api_identifier()}
        self.resources.setdefault(route.collection, []).append(note)
        return 201, note, {}

    def delete_item(self, req, route):
        items = self.items(route.collection)
        for i, item in enumerate(items):
            if same_id(item.get("id"), route.item_id):
                del items[i]
                return 204, None, {}
        raise not_found("%s with id %d was not found."
                        % (route.schema or "Record", route.item_id))

    def search(self, req, route):
        body = req.json_body()
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.",
                              "InvalidObject")
        params = dict(req.params)
        for key, value in body.items():
            if isinstance(value, str):
                params[key.lower()] = value
        return self.get_list(req, Route("list", "service/tickets", "Ticket"),
                             params)

    # -- dispatch ----------------------------------------------------------

    WRITES = {
        ("PATCH", "service/tickets", "item"): "patch_ticket",
        ("POST", "schedule/entries", "list"): "post_schedule_entry",
        ("POST", "service/tickets/{}/notes", "list"): "post_note",
        ("DELETE", "schedule/entries", "item"): "delete_item",
        ("DELETE", "service/tickets/{}/notes", "item"): "delete_item",
        ("POST", "service/tickets", "search"): "search",
    }

    def dispatch(self, req):
        route = self.route(req.rel)
        if route is None:
            raise not_found("The resource '%s' was not found." % req.rel)
        if route.parent is not None and self.find(*route.parent) is None:
            raise not_found("%s with id %d was not found."
                            % (ROUTES.get(route.parent[0], "Record"),
                               route.parent[1]))
        if req.method == "GET" and route.kind in ("list", "count"):
            return self.get_list(req, route)
        if req.method == "GET" and route.kind == "item":
            return self.get_item(req, route)
        if req.method == "GET" and route.kind == "object":
            return 200, self.resources[route.collection], {}
        handler = self.WRITES.get((req.method, route.template, route.kind))
        if handler is None:
            raise ApiError(405, "MethodNotAllowed", "The requested resource "
                           "does not support http method '%s'." % req.method)
        return getattr(self, handler)(req, route)


# ---------------------------------------------------------------------------
# Faults.

class Fault:
    def __init__(self, kind, status=None, method=None, pattern=None,
                 count=None, latency_ms=0, retry_after=1, spec=None,
                 body=None):
        self.kind = kind                # "status", "reset", "drop",
        # "stall" or "latency"
        self.body = body                # a status fault's reply, if given
        self.status = status
        self.method = method.upper() if method else None
        self.pattern = pattern or ""
        self.regex = re.compile(self.pattern)
        self.count = count              # None: forever
        self.latency_ms = latency_ms
        self.retry_after = retry_after
        self.spec = spec

    def matches(self, method, rel):
        return (self.method is None or self.method == method) \
            and self.regex.search(rel) is not None

    def describe(self):
        out = {"kind": self.kind, "path": self.pattern,
               "remaining": "*" if self.count is None else self.count}
        if self.method:
            out["method"] = self.method
        if self.kind == "status":
            out["status"] = self.status
            if self.status == 429:
                out["retry_after"] = self.retry_after
        if self.kind == "latency":
            out["latency_ms"] = self.latency_ms
        if self.spec:
            out["spec"] = self.spec
        return out


def parse_fault(spec, retry_after=1):
    """Parse CODE[@METHOD]:REGEX[:N], reset[@METHOD]:REGEX[:N] or
    latency:MS[:REGEX[:N]] (see the top of the file)."""
    parts = spec.split(":")
    head, _, method = parts[0].partition("@")
    if head.lower() == "latency":
        if len(parts) < 2 or not parts[1].isdigit():
            raise ValueError("fault %r: latency needs milliseconds" % spec)
        kind, status, latency, rest = "latency", None, int(parts[1]), parts[2:]
    elif head.lower() in ("reset", "drop", "stall"):
        kind, status, latency, rest = head.lower(), None, 0, parts[1:]
    elif head.isdigit() and 400 <= int(head) <= 599:
        kind, status, latency, rest = "status", int(head), 0, parts[1:]
    else:
        raise ValueError("fault %r: expected an HTTP status 400-599, reset, "
                         "drop, stall or latency" % spec)
    if kind != "latency" and not rest:
        raise ValueError("fault %r: a path regex is required" % spec)
    count = None
    if len(rest) >= 2 and (rest[-1].isdigit() or rest[-1] == "*"):
        count = None if rest[-1] == "*" else int(rest[-1])
        rest = rest[:-1]
    if count == 0:
        raise ValueError("fault %r: a count must be at least 1" % spec)
    pattern = ":".join(rest)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError("fault %r: bad regex: %s" % (spec, exc))
    return Fault(kind, status, method or None, pattern, count, latency,
                 retry_after, spec)


def fault_from_json(obj, retry_after=1):
    if not isinstance(obj, dict):
        raise ValueError("a fault must be a JSON object")
    if "spec" in obj:
        fault = parse_fault(str(obj["spec"]), retry_after)
        if "retry_after" in obj:
            fault.retry_after = int(obj["retry_after"])
        return fault
    count = obj.get("count")
    if count in ("*", None):
        count = None
    elif not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer or \"*\"")
    pattern = str(obj.get("path", ""))
    re.compile(pattern)
    if "latency_ms" in obj:
        return Fault("latency", None, obj.get("method"), pattern, count,
                     int(obj["latency_ms"]))
    for kind in ("reset", "drop", "stall"):
        if obj.get(kind):
            return Fault(kind, None, obj.get("method"), pattern, count)
    status = obj.get("status")
    if status == 200 and "body" in obj:
        pass                    # a reply of any shape, for dq's checks
    elif not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("status must be an HTTP status 400-599, or 200 "
                         "with a body")
    return Fault("status", status, obj.get("method"), pattern, count, 0,
                 int(obj.get("retry_after", retry_after)),
                 body=obj.get("body"))


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.active = []
        # Set when the faults are cleared: stalled replies end.
        self.released = threading.Event()

    def add(self, fault):
        with self.lock:
            self.active.append(fault)

    def clear(self):
        with self.lock:
            self.active = []
            self.released.set()
            self.released = threading.Event()

    def stall(self, seconds=60):
        """Wait until the faults are cleared (or seconds pass)."""
        with self.lock:
            released = self.released
        released.wait(seconds)

    def describe(self):
        with self.lock:
            return [f.describe() for f in self.active]

    def take(self, method, rel):
        """Consume the faults matching one request: returns the extra
        latency in ms and the status/reset fault to apply, if any."""
        latency, action = 0, None
        with self.lock:
            for fault in list(self.active):
                if not fault.matches(method, rel):
                    continue
                if fault.kind == "latency":
                    latency += fault.latency_ms
                elif action is None:
                    action = fault
                else:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self.active.remove(fault)
        return latency, action


# ---------------------------------------------------------------------------
# Request log.

class RequestLog:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.entries = []
        self.file = open(path, "a", encoding="utf-8") if path else None
        self.t0 = time.monotonic()
        self.seq = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def ms(self):
        return round((time.monotonic() - self.t0) * 1000.0, 3)

    def begin(self):
        with self.lock:
            self.seq += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return {"seq": self.seq, "start_ms": self.ms(),
                    "in_flight": self.in_flight}

    ORDER = ("seq", "method", "path", "query", "params", "status",
             "start_ms", "end_ms", "duration_ms", "in_flight", "max_in_flight")

    def end(self, entry):
        with self.lock:
            self.in_flight -= 1
            entry["end_ms"] = self.ms()
            entry["duration_ms"] = round(entry["end_ms"] - entry["start_ms"],
                                         3)
            entry["max_in_flight"] = self.max_in_flight
            # Fixed keys first, for people reading the log.
            entry = dict([(k, entry[k]) for k in self.ORDER if k in entry]
                         + [(k, v) for k, v in entry.items()
                            if k not in self.ORDER])
            self.entries.append(entry)
            if self.file:
                self.file.write(json.dumps(entry, separators=(",", ":"))
                                + "\n")
                self.file.flush()

    def snapshot(self):
        with self.lock:
            return {"requests": list(self.entries),
                    "in_flight": self.in_flight,
                    "max_in_flight": self.max_in_flight}

    def reset(self):
        with self.lock:
            self.entries = []
            self.max_in_flight = self.in_flight
            if self.file:
                self.file.seek(0)
                self.file.truncate()
                self.file.flush()


# ---------------------------------------------------------------------------
# HTTP.

class Reset(Exception):
    """Close the connection without answering (the reset fault)."""


class Unanswered(Exception):
    """The request was acted on; its answer is not sent (drop, stall)."""

    def __init__(self, fault, status):
        Exception.__init__(self)
        self.fault = fault
        self.status = status


def accepts_gzip(header):
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip", "*"):
            q = re.search(r"q\s*=\s*([0-9.]+)", params)
            return not q or float(q.group(1)) > 0
    return False


def accept_version(accept):
    m = re.search(re.escape(VND_TYPE) + r"\s*;\s*version\s*=\s*([0-9.]+)",
                  accept or "", re.IGNORECASE)
    return m.group(1) if m else None


class Emulator:
    """Ties the store, faults and log to the HTTP handler."""

    def __init__(self, store, faults, log, options):
        self.store = store
        self.faults = faults
        self.log = log
        self.latency_ms = options.latency_ms
        self.require_accept = options.require_accept
        self.gzip = not options.no_gzip
        self.retry_after = options.retry_after
        self.data_path = options.data
        self.fault_specs = options.fault
        self.server = None

    def reset(self):
        """Back to the start: data re-read from the file, the command-line
        faults only, an empty log."""
        with open(self.data_path, encoding="utf-8") as f:
            data = json.load(f)
        with self.store.lock:
            self.store.load(data)
        self.faults.clear()
        for spec in self.fault_specs:
            self.faults.add(parse_fault(spec, self.retry_after))
        self.log.reset()

    # -- one request -------------------------------------------------------

    def handle(self, h):
        split = urlsplit(h.path)
        path = unquote(split.path)
        try:
            body = read_body(h)
        except ValueError as exc:
            h.close_connection = True
            self.send(h, 400, {"code": "InvalidRequest", "message": str(exc),
                               "errors": None}, {})
            return
        if path.startswith("/__control/"):
            self.control(h, path, split.query, body)
            return
        entry = self.log.begin()
        entry.update({"method": h.command, "path": path, "query": split.query,
                      "params": dict(parse_qsl(split.query,
                                               keep_blank_values=True))})
        reset = stalled = False
        try:
            status, payload, headers = self.api(h, path, split.query, body,
                                                entry)
        except Reset:
            status, reset = 0, True
            entry["notes"] = entry.get("notes", []) + ["connection reset"]
        except Unanswered as done:
            # The status it would have had is logged: the write was made.
            status, reset = done.status, True
            stalled = done.fault.kind == "stall"
            entry["notes"] = entry.get("notes", []) + [
                "acted on; answer %s" % ("held" if stalled else "dropped")]
        except Exception as exc:    # an emulator bug: say so, keep serving
            import traceback
            traceback.print_exc()
            status, headers = 500, {}
            payload = {"code": "ConnectWiseApi", "message":
                       "cw-emulator internal error: %s" % exc, "errors": None}
        # Logged before the reply goes out: a client that has its answer
        # may read the log at once and must find the request in it.
        entry["status"] = status
        self.log.end(entry)
        if stalled:
            self.faults.stall()
        if reset:
            h.close_connection = True
            return
        try:
            self.send(h, status, payload, headers, entry.get("accept_version"))
        except OSError:             # the client went away (it was killed)
            h.close_connection = True

    def api(self, h, path, query, body, entry):
        """Answer one API request: (status, payload, headers)."""
        entry["accept"] = h.headers.get("Accept")
        entry["accept_version"] = accept_version(entry["accept"])
        entry["content_type"] = h.headers.get("Content-Type")
        entry["pagination_type"] = h.headers.get("pagination-type")
        entry["accept_encoding"] = h.headers.get("Accept-Encoding")
        if path.startswith(API_PREFIX):
            rel = path[len(API_PREFIX):]
        else:
            rel = path.lstrip("/")
        extra, fault = self.faults.take(h.command, rel)
        delay = self.latency_ms + extra
        if delay:
            time.sleep(delay / 1000.0)
        if fault is not None:
            entry["fault"] = fault.describe()
            if fault.kind == "reset":
                raise Reset()
            if fault.kind not in ("drop", "stall"):
                return self.fault_answer(fault, entry)
        try:
            if not path.startswith(API_PREFIX):
                return self.outside_api(h, path, body, entry)
            self.authenticate(h, entry)
            if self.require_accept and entry["accept_version"] is None:
                raise ApiError(406, "NotAcceptable", "Accept must name %s; "
                               "version=YYYY.N" % VND_TYPE)
            base = "http://%s%s" % (h.headers.get("Host") or "127.0.0.1:%d"
                                    % h.server.server_address[1],
                                    API_PREFIX.rstrip("/"))
            req = Request(h.command, rel, query, h.headers, body, base, entry)
            with self.store.lock:
                status, payload, headers = self.store.dispatch(req)
                # Serialise under the lock: later writes cannot tear it.
                payload = None if payload is None else json.dumps(
                    payload, separators=(",", ":"), ensure_ascii=False)
        except ApiError as err:
            status, payload, headers = err.status, err.body(), err.headers
        if fault is not None:
            raise Unanswered(fault, status)
        return status, payload, headers

    def fault_answer(self, fault, entry):
        if fault.body is not None:
            headers = {}
            if fault.status == 429:
                headers["Retry-After"] = str(fault.retry_after)
            return fault.status, fault.body, headers
        if fault.status == 429:
            # DG: the throttling body uses "error", not "code".
            return 429, {"error": "ConnectWiseAPI", "message":
                         "Too many requests. Please try again in %d seconds."
                         % fault.retry_after}, {
                             "Retry-After": str(fault.retry_after)}
        messages = {500: "An error occurred, please try again later.",
                    502: "Bad Gateway", 503: "Service Unavailable",
                    504: "Gateway Timeout"}
        message = messages.get(fault.status, "Injected fault %d"
                               % fault.status)
        return fault.status, {"code": "ConnectWiseApi", "message": message,
                              "errors": None}, {}

    def outside_api(self, h, path, body, entry):
        # GET /login/companyinfo/{company}: codebase discovery, no auth.
        m = re.match(r"^/login/companyinfo/([^/]+)$", path, re.IGNORECASE)
        if m and h.command == "GET":
            if m.group(1).lower() != self.store.credentials["company"].lower():
                return 200, "null", {}
            major = self.store.version
            return 200, {"CompanyName": self.store.credentials["company"],
                         "Codebase": "v4_6_release/",
                         "VersionCode": "v" + major,
                         "VersionNumber": "v4.6.%s" % major.replace(".", ""),
                         "CompanyID": self.store.credentials["company"],
                         "IsCloud": False}, {}
        raise not_found("The resource '%s' was not found." % path)

    def authenticate(self, h, entry):
        creds = self.store.credentials
        client_id = h.headers.get("clientId")
        if client_id is None:
            entry["client_id"] = "missing"
        elif client_id.strip().lower() == creds["clientId"].lower():
            entry["client_id"] = "ok"
        else:
            entry["client_id"] = "bad"
        header = h.headers.get("Authorization")
        entry["auth"] = "missing" if header is None else "bad"
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            try:
                decoded = base64.b64decode(token.strip(), validate=True
                                           ).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            user, colon, private = decoded.partition(":")
            company, plus, public = user.partition("+")
            if scheme.lower() == "basic" and colon and plus \
                    and company.lower() == creds["company"].lower() \
                    and public == creds["publicKey"] \
                    and private == creds["privateKey"]:
                entry["auth"] = "ok"
        if entry["auth"] != "ok":
            raise ApiError(401, "ConnectWiseApi", "UserNotAuthenticated")
        if entry["client_id"] != "ok":
            raise ApiError(401, "Unauthorized", "A valid clientId header is "
                           "required on every request.")

    def send(self, h, status, payload, headers, version=None):
        if payload is None:
            data = b""
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        else:
            data = json.dumps(payload, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")
        gzipped = self.gzip and data and accepts_gzip(
            h.headers.get("Accept-Encoding"))
        if gzipped:
            data = gzip.compress(data, mtime=0)
        h.send_response(status)
        if status != 204:
            h.send_header("Content-Type", "%s; version=%s; charset=utf-8"
                          % (VND_TYPE, version or self.store.version))
        h.send_header("Content-Length", str(len(data)))
        if gzipped:
            h.send_header("Content-Encoding", "gzip")
        if self.gzip:
            h.send_header("Vary", "Accept-Encoding")
        h.send_header("api-current-version", self.store.version)
        h.send_header("x-server-name", "cw-emulator")
        for key, value in headers.items():
            h.send_header(key, value)
        if h.close_connection:
            h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)

    # -- control endpoints -------------------------------------------------

    def control(self, h, path, query, body):
        def reply(status, payload):
            data = json.dumps(payload).encode("utf-8")
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

        try:
            obj = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError as exc:
            return reply(400, {"error": "bad JSON: %s" % exc})
        name = path[len("/__control/"):].rstrip("/")
        params = dict(parse_qsl(query))
        try:
            if (h.command, name) == ("GET", "requests"):
                return reply(200, self.log.snapshot())
            if (h.command, name) == ("POST", "reset"):
                self.reset()
                return reply(200, {"ok": True})
            if (h.command, name) == ("POST", "reset-log"):
                self.log.reset()
                return reply(200, {"ok": True})
            if (h.command, name) == ("GET", "faults"):
                return reply(200, self.faults.describe())
            if (h.command, name) == ("DELETE", "fault"):
                self.faults.clear()
                return reply(200, [])
            if (h.command, name) == ("POST", "fault"):
                if obj.get("clear"):
                    self.faults.clear()
                specs = obj.get("specs", [])
                if "spec" in obj:
                    specs = [obj]
                for spec in specs:
                    self.faults.add(fault_from_json(
                        spec if isinstance(spec, dict) else {"spec": spec},
                        self.retry_after))
                if not specs and not obj.get("clear") and obj:
                    self.faults.add(fault_from_json(obj, self.retry_after))
                return reply(200, self.faults.describe())
            if (h.command, name) == ("GET", "data"):
                with self.store.lock:
                    res = self.store.resources
                    if "path" in params:
                        if params["path"] not in res:
                            return reply(404, {"error": "no such resource"})
                        return reply(200, res[params["path"]])
                    return reply(200, res)
            if (h.command, name) == ("POST", "data"):
                return reply(*self.control_data(obj))
            if (h.command, name) == ("POST", "shutdown"):
                reply(200, {"ok": True})
                threading.Thread(target=self.server.shutdown,
                                 daemon=True).start()
                return None
        except (OSError, ValueError, re.error) as exc:
            return reply(400, {"error": str(exc)})
        return reply(404, {"error": "unknown control endpoint %s %s"
                           % (h.command, path)})

    def control_data(self, obj):
        path = obj.get("path")
        if not isinstance(path, str):
            return 400, {"error": "path is required"}
        with self.store.lock:
            res = self.store.resources
            if "value" in obj:
                res[path] = obj["value"]
                return 200, {"ok": True}
            if isinstance(obj.get("merge"), dict):
                collection, _, item_id = path.rpartition("/")
                if not item_id.isdigit():
                    return 400, {"error": "merge needs COLLECTION/ID"}
                item = self.store.find(collection, int(item_id))
                if item is None:
                    return 404, {"error": "no such record"}
                new = dict(item)
                new.update(obj["merge"])
                self.store.replace(collection, new)
                return 200, new
        return 400, {"error": "value or merge is required"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive; every reply has a length
    server_version = "cw-emulator/1.0"
    # Headers and body go out in two writes: with Nagle's algorithm the
    # body would wait for the client's delayed ACK, 40 ms a reply.
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def do_any(self):
        self.server.emulator.handle(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_any

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("cw-emulator: %s %s\n" % (self.address_string(),
                                                       fmt % args))


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="cw-emulator",
        description="ConnectWise Manage REST API emulator for tests.")
    ap.add_argument("--data", required=True, help="JSON data file")
    ap.add_argument("--port", type=int, default=0,
                    help="TCP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--log", help="append the request log here as NDJSON")
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="delay every API request by this many ms")
    ap.add_argument("--fault", action="append", default=[],
                    help="inject a fault (see the top of the file)")
    ap.add_argument("--retry-after", type=int, default=1,
                    help="Retry-After seconds for 429 faults (default 1)")
    ap.add_argument("--now", help="fixed clock for _info and closedDate "
                    "stamps (YYYY-MM-DDTHH:MM:SSZ)")
    ap.add_argument("--page-size-over-max", choices=("clamp", "reject"),
                    default="clamp", help="pageSize > 1000: clamp (default) "
                    "or answer 400")
    ap.add_argument("--require-accept", action="store_true",
                    help="406 unless Accept names the vnd type and a version")
    ap.add_argument("--no-gzip", action="store_true",
                    help="never compress responses")
    ap.add_argument("--verbose", action="store_true",
                    help="log each request to stderr")
    opts = ap.parse_args(argv)

    def die(message):
        sys.stderr.write("cw-emulator: %s\n" % message)
        return 2

    if opts.now:
        fixed = parse_datetime(opts.now)
        if fixed is None:
            return die("--now: not a datetime: %s" % opts.now)
        clock = lambda: fixed                                   # noqa: E731
    else:
        clock = lambda: dt.datetime.now(dt.timezone.utc)        # noqa: E731
    try:
        with open(opts.data, encoding="utf-8") as f:
            store = Store(json.load(f), clock)
    except (OSError, ValueError) as exc:
        return die("%s: %s" % (opts.data, exc))
    store.reject_big_pages = opts.page_size_over_max == "reject"
    faults = Faults()
    try:
        for spec in opts.fault:
            faults.add(parse_fault(spec, opts.retry_after))
    except ValueError as exc:
        return die(str(exc))
    try:
        log = RequestLog(opts.log)
    except OSError as exc:
        return die("%s: %s" % (opts.log, exc))

    emulator = Emulator(store, faults, log, opts)
    try:
        server = Server(("127.0.0.1", opts.port), Handler)
    except OSError as exc:
        return die("cannot listen on 127.0.0.1:%d: %s" % (opts.port, exc))
    server.emulator = emulator
    server.verbose = opts.verbose
    emulator.server = server
    if opts.verbose:
        sys.stderr.write("cw-emulator: listening on http://127.0.0.1:%d%s\n"
                         % (server.server_address[1], API_PREFIX.rstrip("/")))
    return serve(server, opts.port_file)


if __name__ == "__main__":
    sys.exit(main())
