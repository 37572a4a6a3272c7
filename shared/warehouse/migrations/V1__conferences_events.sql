-- The existing warehouse objects of schema conferences_events (reference/warehouse.md).
-- Written with IF NOT EXISTS so that running against the production warehouse, where these
-- objects already exist, changes nothing.
CREATE SCHEMA IF NOT EXISTS conferences_events;

CREATE TABLE IF NOT EXISTS conferences_events.exchange_registration (
    id serial PRIMARY KEY,
    form_id text,
    registration_id text UNIQUE,
    submitted_at timestamptz,
    first_name text,
    last_name text,
    organization text,
    title text,
    email text,
    phone text,
    registration_type text,
    small_business_number text,
    current_nvp_supplier text,
    first_exchange_org text,
    first_exchange_person text,
    address text,
    suite text,
    address_city text,
    address_state text,
    address_zip text,
    hear_about_exchange text,
    one_one text,
    time_zone text,
    profile text,
    headshot text,
    industries text,
    other_industries text,
    supplier_registration_fee numeric,
    small_business_registration_fee numeric,
    discount_code text,
    total_price numeric,
    payment_method text,
    name_on_card text,
    credit_card_info text,
    billing_address text,
    agreement text,
    registration_status text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    login_created boolean,
    supplier_registration_quantity integer,
    small_business_registration_quantity integer,
    issue_resolution text,
    issue_notes text,
    approval_status text,
    check_received text,
    meetmax_id text,
    meetmax_status text,
    state_organization text,
    rollover boolean,
    meetings integer,
    thumbnail_image text,
    intrado_id text
);

CREATE TABLE IF NOT EXISTS conferences_events.exchange_organizations (
    id serial PRIMARY KEY,
    original_organization text,
    clean_organization text,
    reviewed boolean
);

CREATE TABLE IF NOT EXISTS conferences_events.events (
    id serial PRIMARY KEY,
    form_id text,
    name text
);

CREATE TABLE IF NOT EXISTS conferences_events.regions (
    id serial PRIMARY KEY,
    name text
);

CREATE TABLE IF NOT EXISTS conferences_events.states (
    id serial PRIMARY KEY,
    name varchar(64),
    full_name text,
    region_id integer REFERENCES conferences_events.regions (id)
);

-- The exchange_meetmax view as published (reference/warehouse.md section 3), created only
-- when absent so that an existing definition is never replaced.
DO $$
BEGIN
    IF to_regclass('conferences_events.exchange_meetmax') IS NULL THEN
        EXECUTE $view$
        CREATE VIEW conferences_events.exchange_meetmax AS
        SELECT r.id,
               r.registration_id,
               r.submitted_at,
               initcap(r.first_name) AS first_name,
               initcap(r.last_name) AS last_name,
               CASE
                   WHEN r.registration_type = 'State Member' THEN s.full_name
                   WHEN r.registration_type IN ('Supplier', 'Supplier - Small Business',
                        'NASPO & NASPO ValuePoint Staff',
                        'Partner (Academic, Affiliate, Associate, Strategic)') THEN o.clean_organization
                   ELSE r.organization
               END AS company,
               r.title,
               lower(r.email) AS email,
               r.phone,
               r.registration_type,
               CASE r.registration_type
                   WHEN 'State Member' THEN 'NASPO2_STATE_REP'
                   WHEN 'Supplier' THEN 'NASPO2_SUPPLIER_ATT'
                   WHEN 'Supplier - Small Business' THEN 'NASPO2_SUPPLIER_ATT'
                   WHEN 'NASPO & NASPO ValuePoint Staff' THEN 'NASPO2_NASPO_REP'
                   ELSE 'NASPO2_OTHER_ATTENDEE'
               END AS attendee_role_id,
               CASE r.registration_type
                   WHEN 'Partner (Academic, Affiliate, Associate, Strategic)' THEN '1'
                   WHEN 'Life Member or Honorary Member' THEN '2'
                   WHEN 'Speaker or VIP' THEN '3'
               END AS group_name,
               CASE WHEN r.one_one = 'Yes' THEN 'Y' ELSE 'N' END AS receive_request,
               replace(r.time_zone, ' Time', '') AS locale,
               r.profile,
               r.headshot,
               replace(regexp_replace(r.industries, '[\r\n]+', '|', 'g'), ',', '') AS industries,
               r.other_industries,
               r.created_at,
               r.updated_at,
               r.meetmax_id,
               r.meetmax_status,
               r.rollover,
               r.meetings
          FROM conferences_events.exchange_registration r
          LEFT JOIN conferences_events.events e ON e.form_id = r.form_id
          LEFT JOIN conferences_events.states s
                 ON s.name::text = COALESCE(r.state_organization, r.address_state)
          LEFT JOIN conferences_events.regions g ON g.id = s.region_id
          LEFT JOIN conferences_events.exchange_organizations o
                 ON o.original_organization = r.organization
         WHERE r.approval_status = 'Approved'
           AND r.registration_status = 'Active'
        $view$;
    END IF;
END
$$;
